"""Worker processes share the per-record work; the outputs must not depend on how many."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from curate_testutil import chat_records, repeated_answers, write_jsonl

from audit.run import run_audit
from curate import batch as B
from curate import parallel
from curate.cleaning import clean
from curate.registry import STEPS, load_plugins
from curate.rules import load_rules

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support_tickets.jsonl"

RULES = """\
version: 1
extends: default
seed: 3
fields: {text: text, id: id, label: label}
read: {batch_size: 40}
steps:
  - step: normalize
  - step: length
    min_length: 60
  - step: language
  - step: quality
    preset: gopher
    action: flag
  - step: redact_pii
    action: flag
  - step: dedupe_exact
  - step: dedupe_near
    threshold: 0.8
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("parallel")
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    # Personal data in a few records (found by the pii check and the redact step), a
    # malformed line (quarantined), and enough records for a dozen batches.
    extra = [
        '{"id": "P1", "label": "billing", "text": "Customer: mail me at jane.roe@example.org '
        'or call (212) 555-0199 about card 4111 1111 1111 1111.\\nAgent: Noted."}',
        '{"id": "P2", "label": "billing", "text": "Customer: my IBAN is '
        'DE89 3704 0044 0532 0130 00, thanks.\\nAgent: Received."}',
        "{not json",
    ]
    data = root / "tickets.jsonl"
    data.write_text("\n".join(lines[:200] + extra + lines[200:]) + "\n", encoding="utf-8")
    rules = root / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    return data, rules


class CountingPool(parallel.ProcessPoolExecutor):
    submitted = 0

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        CountingPool.submitted += 1
        return super().submit(*args, **kwargs)


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> type[CountingPool]:
    """Counts the batches sent to worker processes (so a test knows they ran)."""
    CountingPool.submitted = 0
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", CountingPool)
    monkeypatch.setattr(parallel, "POOL_MIN_BYTES", 0)  # workers from the first batch on
    return CountingPool


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_audit_reports_are_byte_identical_with_two_workers(
    inputs: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pool: type[CountingPool],
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    data, rules = inputs
    one = run_audit(data, tmp_path / "one", load_rules(rules), workers=1)
    assert pool.submitted == 0
    two = run_audit(data, tmp_path / "two", load_rules(rules), workers=2)
    assert pool.submitted == 13  # every batch of 40 records went to a worker
    assert one.data["counts"]["records"] == 484
    metrics = one.data["metrics"]
    assert metrics["steps.redact_pii.changed_rate"] * 483 >= 2  # the planted records
    # an audit measures the text as read: redact_pii only flags what it would redact
    assert metrics["pii.records_with_pii"] >= 2
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    assert two.data["details"]["steps"] == one.data["details"]["steps"]


def test_clean_outputs_are_byte_identical_with_two_workers(
    inputs: tuple[Path, Path], tmp_path: Path, pool: type[CountingPool]
) -> None:
    data, rules = inputs
    one = clean(data, tmp_path / "one", load_rules(rules), workers=1)
    two = clean(data, tmp_path / "two", load_rules(rules), workers=2)
    assert pool.submitted == 13
    counts = one.manifest["counts"]
    assert counts["records"] == counts["kept"] + counts["dropped"] + counts["quarantined"]
    assert counts["dropped"] > 0 and counts["quarantined"] == 2
    # Every step's summary (running totals added up over the workers) is the same.
    assert one.manifest["steps"] == two.manifest["steps"]
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


FIELD_AWARE_RULES = """\
version: 1
seed: 3
fields: {chat: messages, id: id}
read: {batch_size: 40}
steps:
  - step: normalize
  - step: length
    min_length: 1
  - step: dedupe_exact
    roles: [assistant]
  - step: dedupe_near
    roles: [assistant]
    threshold: 0.8
"""


def test_field_aware_dedupe_is_the_same_with_two_workers(
    tmp_path: Path, pool: type[CountingPool]
) -> None:
    """Dedupe on assistant turns only: the compared text is built from the segments the
    workers' steps return, the same with one or two worker processes."""
    records = chat_records(4, 480)
    data = write_jsonl(tmp_path / "chats.jsonl", records)
    rules = tmp_path / "rules.yaml"
    rules.write_text(FIELD_AWARE_RULES, encoding="utf-8")
    one = clean(data, tmp_path / "one", load_rules(rules), workers=1)
    two = clean(data, tmp_path / "two", load_rules(rules), workers=2)
    assert pool.submitted == 12
    steps = {s["id"]: s for s in one.manifest["steps"]}
    assert steps["dedupe_exact"]["dropped"] == repeated_answers(records)
    assert steps["dedupe_near"]["dropped"] > 0
    assert one.manifest["steps"] == two.manifest["steps"]
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_running_totals_of_two_processes_add_up_to_one_process() -> None:
    load_plugins()
    params = STEPS["length"].Params(unit="chars")
    whole, part_a, part_b = (STEPS["length"](params) for _ in range(3))
    first = B.from_texts(["a", "bbbbbb", "cc"])
    second = B.from_texts(["dddddddddd", "eee"])
    whole.apply(first)
    whole.apply(second)
    part_a.apply(first)
    part_b.apply(second)
    merged = STEPS["length"](params)
    merged.add_totals(part_a.take_totals())
    merged.add_totals(part_b.take_totals())
    assert (
        merged.summary() == whole.summary() == {"unit": "chars", "min": 1, "max": 10, "mean": 4.4}
    )
    assert part_a.take_totals() == part_a.new_totals()  # taken totals start again from nothing


def test_every_parallel_safe_step_declares_totals_that_add_up() -> None:
    """Totals are dataclasses whose fields each say how they combine; adding is associative."""
    load_plugins()
    for name, cls in STEPS.items():
        if cls.parallel_safe:
            assert not cls.needs_fit, name
            assert dataclasses.is_dataclass(cls.totals_type), name
            for f in dataclasses.fields(cls.totals_type):
                assert f.metadata.get("merge") in ("sum", "min", "max"), (name, f.name)
    a = STEPS["length"].totals_type(1, 5, 5, 5)
    b = STEPS["length"].totals_type(2, 3, 1, 2)
    c = STEPS["length"].totals_type(1, 9, 9, 9)
    assert (a + b) + c == a + (b + c) == STEPS["length"].totals_type(4, 17, 1, 9)


def test_pii_scan_column_gives_the_same_findings_as_scanning(
    inputs: tuple[Path, Path],
) -> None:
    from curate.rules import build_checks

    rules = load_rules(inputs[1])
    texts = [
        "Customer: write to a.b@example.com or +44 20 7946 0958.\nAgent: ok",
        "nothing here",
        "",
        "card 4111 1111 1111 1111, ip 10.0.0.1 and 10.0.0.2",
    ]
    batch = B.from_texts(texts)
    scanning, reading = (next(c for c in build_checks(rules) if c.name == "pii") for _ in "ab")
    direct = scanning.update(batch)
    column = reading.scan(batch)
    assert column.len() == batch.height and column.dtype == pl.List(column.dtype.inner)
    from_column = reading.update(batch.with_columns(column.alias(reading.scan_column)))
    assert direct == from_column and len(direct) >= 4
    assert scanning.result() == reading.result()
    assert Counter(f["entity"] for f in direct)["IP_ADDRESS"] == 2


def test_workers_end_when_the_run_is_killed(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    """A SIGKILLed run must not leave its workers behind (waiting for work, holding pipes)."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    data, rules = inputs
    big = tmp_path / "big.jsonl"
    big.write_bytes(data.read_bytes() * 80)  # over POOL_MIN_BYTES, long enough to be killed
    proc = subprocess.Popen(
        [sys.executable, "-m", "curate.cli", "audit", str(big), "--rules", str(rules),
         "--report", str(tmp_path / "r"), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    children: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    while len(children) < 2 and proc.poll() is None and time.monotonic() < deadline:
        children = psutil.Process(proc.pid).children(recursive=True)
        time.sleep(0.2)
    assert len(children) >= 2, "the run ended or never started its workers"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], f"workers still running after the run was killed: {alive}"
    assert proc.stderr is not None
    proc.stderr.read()  # closed by then: no worker holds the pipe


def test_a_short_run_starts_no_worker(
    inputs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    CountingPool.submitted = 0
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", CountingPool)
    data, rules = inputs
    clean(data, tmp_path / "out", load_rules(rules), workers=2)  # a file under POOL_MIN_BYTES
    assert CountingPool.submitted == 0
    records = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()[:200]]
    monkeypatch.setattr(parallel, "INLINE_SECONDS", 60.0)
    clean(records, tmp_path / "rows", load_rules(rules), workers=2)  # in memory: timed
    assert CountingPool.submitted == 0
    monkeypatch.setattr(parallel, "INLINE_SECONDS", 0.0)
    clean(records, tmp_path / "rows-pooled", load_rules(rules), workers=2)
    assert CountingPool.submitted == 4  # 5 batches: the first here, the others in workers
    assert (tmp_path / "rows" / "clean.jsonl").read_bytes() == (
        tmp_path / "rows-pooled" / "clean.jsonl"
    ).read_bytes()
