"""Property tests: arbitrary bytes and malformed JSONL never crash a run, and nothing is lost.

Every non-blank line of the input must come out as exactly one kept, dropped or quarantined
record, whatever the bytes are. The default suite runs a few hundred cases; the ``slow`` run
(also in CI) runs 10,000.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.cleaning import clean
from curate.errors import InputError
from curate.rules import load_rules

RULES = """
fields:
  text: text
read:
  batch_size: 7
  max_line_bytes: 4096
steps:
  - step: normalize
  - step: length
    min_length: 2
  - step: dedupe_exact
  - step: quality
    action: flag
"""

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
valid_records = st.builds(lambda t: json.dumps({"text": t}), st.text(max_size=200))
odd_records = st.builds(lambda v: json.dumps({"text": v}), json_values)
any_json = st.builds(json.dumps, json_values)
nested = st.integers(min_value=1, max_value=3000).map(lambda d: "[" * d + "]" * d)
raw_bytes = st.binary(max_size=120)
line = st.one_of(
    valid_records.map(str.encode),
    odd_records.map(str.encode),
    any_json.map(str.encode),
    nested.map(str.encode),
    raw_bytes,
    st.just(b""),
    st.just(b"   "),
    st.just(b'{"text": "' + b"x" * 5000 + b'"}'),
    st.just(b'{"text": "nul\x00byte"}'),
    st.just(b'{"text": "trunc'),
)
endings = st.sampled_from([b"\n", b"\r\n"])


def _expected_records(data: bytes) -> int:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    return sum(1 for p in parts if p.rstrip(b"\r\n").strip())


def _check(data: bytes, rules_path: Path) -> None:
    rules = load_rules(rules_path)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        path.write_bytes(data)
        expected = _expected_records(data)
        try:
            result = clean(path, Path(tmp) / "out", rules)
        except InputError as exc:
            assert expected == 0 and "no records" in str(exc)
            assert os.listdir(Path(tmp) / "out") == []  # nothing half-written
            return
        counts = result.manifest["counts"]
        assert counts["records"] == expected
        assert counts["records"] == counts["kept"] + counts["dropped"] + counts["quarantined"]
        out = Path(tmp) / "out"
        lines = {
            # Count "\n" only: a kept raw line may hold a bare "\r" (JSON whitespace).
            name: (out / name).read_bytes().count(b"\n")
            for name in ("clean.jsonl", "dropped.jsonl", "quarantine.jsonl")
        }
        assert lines == {
            "clean.jsonl": counts["kept"],
            "dropped.jsonl": counts["dropped"],
            "quarantine.jsonl": counts["quarantined"],
        }
        for row in (out / "quarantine.jsonl").read_bytes().split(b"\n")[:-1]:
            assert json.loads(row)["line"] >= 1
        for row in (out / "clean.jsonl").read_bytes().split(b"\n")[:-1]:
            assert isinstance(json.loads(row), dict)


documents = st.tuples(
    st.booleans(), st.lists(st.tuples(line, endings), max_size=25), st.booleans()
).map(
    lambda t: (
        (b"\xef\xbb\xbf" if t[0] else b"")
        + b"".join(body + end for body, end in t[1])
        + (b'{"text": "no newline at the end"}' if t[2] else b"")
    )
)


@pytest.fixture(autouse=True, scope="module")
def _no_fsync() -> object:
    # Durability is not under test here and fsync dominates the cost of a tiny run.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "fsync", lambda _fd: None)
        yield


@pytest.fixture(scope="module")
def rules_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(RULES)
    return path


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=documents)
def test_any_input_keeps_the_ledger(rules_path: Path, data: bytes) -> None:
    _check(data, rules_path)


# The slow run's 10,000 cases, as two tests of 5,000 that two test workers (``pytest -n 2``,
# README's command) can run side by side; each draws its own random cases.
@pytest.mark.slow
@settings(max_examples=5_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=documents)
def test_any_input_keeps_the_ledger_10k_first_half(rules_path: Path, data: bytes) -> None:
    _check(data, rules_path)


@pytest.mark.slow
@settings(max_examples=5_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=documents)
def test_any_input_keeps_the_ledger_10k_second_half(rules_path: Path, data: bytes) -> None:
    _check(data, rules_path)


def test_a_100_mb_single_line_is_quarantined_with_bounded_memory(tmp_path: Path) -> None:
    import resource

    path = tmp_path / "huge.jsonl"
    with path.open("wb") as handle:
        handle.write(b'{"text": "before"}\n{"text": "')
        chunk = b"y" * (1 << 20)
        for _ in range(100):
            handle.write(chunk)
        handle.write(b'"}\n{"text": "after"}')
    rules = tmp_path / "r.yaml"
    rules.write_text("read:\n  max_line_bytes: 1048576\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = clean(path, tmp_path / "out", rules)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    counts = result.manifest["counts"]
    assert (counts["kept"], counts["quarantined"]) == (2, 1)
    assert counts["quarantined_by_reason"] == {"line_too_long": 1}
    assert grown_mb < 60, f"peak RSS grew by {grown_mb:.0f} MB reading a 100 MB line"
