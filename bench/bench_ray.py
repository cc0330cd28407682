"""Records per second of ``curate clean``: the local engine against Ray with 1 and 2 CPUs.

A synthetic corpus (word-salad documents from a Zipf vocabulary, with exact copies and near
copies, some in capitals) is written as JSONL shards and as one file holding the same records in
the same order. The local engine cleans the file (once: it has no start-up to amortise); Ray
cleans the shard folder in a fresh process per CPU count (``ray.init(num_cpus=N)``): Ray's
start-up, a first run (workers start and import curate), then a second run on the same workers
(what a running cluster gives). Every run must keep as many records, or the script fails.

    python bench/bench_ray.py --docs 100000 --shards 16

The rules (``--rules``, default: the steps of ``BENCH_RULES``; ``--quality`` adds the FineWeb
quality step in flag mode) are the same for every engine. The machine's load average is
printed: other processes on the machine skew the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_RULES = """\
name: bench
seed: 0
fields: {text: text, id: id}
steps:
  - step: normalize
{extra}  - step: length
    min_length: 1
    max_length: 200000
  - step: dedupe_exact
  - step: dedupe_near
    threshold: 0.8
"""

# --quality: per-record work heavier than deduplication (flag only, so every record goes on)
QUALITY_STEP = """\
  - step: quality
    preset: fineweb
    action: flag
"""


# --near-misses: documents made in families of this many, each a base text with its own few
# words replaced: every two members of a family are similar enough to share band keys (candidate
# pairs) and too different to be verified as near duplicates (below the 0.8 threshold).
FAMILY = 40
FAMILY_EDIT_SHARE = 0.02


def make_corpus(
    folder: Path, docs: int, shards: int, seed: int, near_misses: float = 0.0
) -> tuple[Path, Path]:
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(20_000)]
    weights = [1.0 / (rank + 1) for rank in range(len(vocabulary))]
    originals: list[str] = []
    records: list[str] = []
    family: list[str] = []
    members = FAMILY
    for i in range(docs):
        if rng.random() < near_misses:
            if members == FAMILY:
                family, members = rng.choices(vocabulary, weights, k=300), 0
            words = list(family)
            for _ in range(int(len(words) * FAMILY_EDIT_SHARE)):
                words[rng.randrange(len(words))] = rng.choice(vocabulary)
            members += 1
            records.append(json.dumps({"id": f"d{i}", "text": " ".join(words)}) + "\n")
            continue
        roll = rng.random()
        if originals and roll < 0.08:
            text = rng.choice(originals)
        elif originals and roll < 0.16:
            words = rng.choice(originals).split()
            for _ in range(max(1, len(words) // 40)):
                words[rng.randrange(len(words))] = rng.choice(vocabulary)
            text = " ".join(words)
        else:
            text = " ".join(rng.choices(vocabulary, weights, k=rng.randint(40, 400)))
            originals.append(text)
        if rng.random() < 0.05:
            text = text.upper()
        records.append(json.dumps({"id": f"d{i}", "text": text}) + "\n")
    shard_dir = folder / "shards"
    shard_dir.mkdir(parents=True)
    per_shard = -(-docs // shards)
    for s in range(shards):
        chunk = records[s * per_shard : (s + 1) * per_shard]
        (shard_dir / f"part-{s:04d}.jsonl").write_text("".join(chunk))
    whole = folder / "whole.jsonl"
    whole.write_text("".join(records))
    return whole, shard_dir


def reset_peak_rss() -> None:
    """Start this process's peak RSS again from its current RSS (Linux 4.0+), so that the
    corpus this script built is not counted as the run's."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    """This process's peak RSS since it started or since ``reset_peak_rss``. Not
    ``ru_maxrss``: Linux keeps that across exec, so a child would report at least the RSS of
    the process that started it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def near_pairs(manifest: dict[str, Any]) -> dict[str, int]:
    """The near-duplicate step's candidate pairs, verified pairs and clusters (empty when
    the rules have no such step)."""
    for step in manifest.get("steps", []):
        if step.get("step") == "dedupe_near":
            summary = step["summary"]
            return {k: summary[k] for k in ("candidate_pairs", "verified_pairs", "clusters")}
    return {}


def run_local(data: Path, out: Path, rules: str) -> dict[str, Any]:
    from curate.cleaning import clean

    reset_peak_rss()
    start = time.perf_counter()
    result = clean(data, out, rules)
    elapsed = time.perf_counter() - start
    rss = peak_rss_mb()
    return {
        "run_s": elapsed,
        "warm_s": elapsed,
        "kept": result.ledger.kept,
        "startup_s": 0.0,
        "driver_rss_mb": rss,
        "pairs": near_pairs(result.manifest),
    }


def run_ray(data: Path, out: Path, rules: str, cpus: int) -> dict[str, Any]:
    """In a fresh process: Ray starts once per process."""
    command = [
        sys.executable,
        __file__,
        "--ray-child",
        json.dumps({"data": str(data), "out": str(out), "rules": rules, "cpus": cpus}),
    ]
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"Ray run failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def ray_child(spec: dict[str, Any]) -> None:
    start = time.perf_counter()
    from curate.cleaning import clean
    from curate.engine_ray import ray_session

    with ray_session(num_cpus=spec["cpus"]):
        started = time.perf_counter()
        result = clean(spec["data"], spec["out"], spec["rules"], engine="ray")
        first = time.perf_counter()
        # again, on workers that have imported curate and built the steps: a running cluster
        again = clean(spec["data"], spec["out"], spec["rules"], engine="ray")
        second = time.perf_counter()
    if again.ledger.kept != result.ledger.kept:
        raise SystemExit("two Ray runs disagree")
    timing = {
        # the driver's peak: where whole-dataset decisions are made
        "driver_rss_mb": peak_rss_mb(),
        "startup_s": started - start,
        "run_s": first - started,
        "warm_s": second - first,
        "kept": result.ledger.kept,
        "pairs": near_pairs(result.manifest),
    }
    print(json.dumps(timing))


def _burn(_: int) -> int:
    total = 0
    for i in range(3_000_000):
        total += i
    return total


def headroom() -> float:
    """How much faster 2 processes burn CPU than 1 on this machine right now (2.0: two free
    cores; about 1.0: the machine is busy, and no engine can scale here)."""
    from multiprocessing import Pool

    times = []
    for workers in (1, 2):
        with Pool(workers) as pool:
            start = time.perf_counter()
            pool.map(_burn, range(8))
            times.append(time.perf_counter() - start)
    return times[0] / times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=60_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rules", help="rules file or bundled name (default: BENCH_RULES)")
    parser.add_argument("--cpus", default="1,2", help="Ray CPU counts to measure")
    parser.add_argument("--quality", action="store_true", help="add the quality step (flag)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--near-misses",
        type=float,
        default=0.0,
        help="share of documents made in families of near misses (candidate pairs that are "
        "not near duplicates): the pairs grow, the clusters do not",
    )
    parser.add_argument(
        "--no-local",
        action="store_true",
        help="Ray only (for the driver's peak RSS at sizes where the local run takes long)",
    )
    parser.add_argument("--ray-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ray_child:
        ray_child(json.loads(args.ray_child))
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        whole, shards = make_corpus(folder, args.docs, args.shards, args.seed, args.near_misses)
        if args.rules is None:
            args.rules = str(folder / "bench.yaml")
            extra = QUALITY_STEP if args.quality else ""
            Path(args.rules).write_text(BENCH_RULES.replace("{extra}", extra))
        load_before = os.getloadavg()[0]
        spare = headroom()
        mb = whole.stat().st_size / 1e6
        rows = [] if args.no_local else [("local", run_local(whole, folder / "local", args.rules))]
        for cpus in (int(c) for c in args.cpus.split(",")):
            rows.append(
                (f"ray, {cpus} CPU", run_ray(shards, folder / f"ray{cpus}", args.rules, cpus))
            )
        kept = {r["kept"] for _, r in rows}
        if len(kept) != 1:
            raise SystemExit(f"engines disagree on kept records: {rows}")
        load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
        if args.rules.endswith("bench.yaml"):
            steps = "normalize, quality (flag), " if args.quality else "normalize, "
            steps += "length, dedupe_exact, dedupe_near"
        else:
            steps = f"rules {args.rules}"
        print(f"{args.docs} records, {mb:.1f} MB, {args.shards} shards, {steps}; {load}")
        print(f"control: 2 processes burn CPU {spare:.2f}x as fast as 1 on this machine")
        pairs = rows[0][1]["pairs"]
        if pairs:
            print("near duplicates: " + ", ".join(f"{k} {v:,}" for k, v in pairs.items()))
        if any(r["pairs"] != pairs for _, r in rows):
            raise SystemExit(f"engines disagree on near-duplicate pairs: {rows}")
        print()
        print(
            "| engine | Ray start s | 1st run s | 2nd run s | records/s 2nd run "
            "| records/s start + 1st run | driver peak RSS MB |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, r in rows:
            total = r["startup_s"] + r["run_s"]
            print(
                f"| {name} | {r['startup_s']:.1f} | {r['run_s']:.1f} | {r['warm_s']:.1f} | "
                f"{args.docs / r['warm_s']:,.0f} | {args.docs / total:,.0f} | "
                f"{r['driver_rss_mb']:,.0f} |"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
