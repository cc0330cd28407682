"""A plugin per-record step, a plugin whole-dataset step and a plugin check, registered from a
module of the user's (tests/plugin_steps.py), give byte-identical outputs with one and two
worker processes, after a stop and ``--resume``, and on Ray; no engine module names them."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import plugin_steps  # noqa: F401  (registers the plugins)
import pytest

from audit.run import run_audit
from curate import parallel, registry
from curate.cleaning import clean
from curate.rules import load_rules

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "forbidden"]
RULES = """\
version: 1
seed: 4
fields: {text: text, id: id}
read: {batch_size: 50}
steps:
  - step: normalize
  - step: plugin_mark_word
  - step: plugin_one_per_first_word
    action: STEP_ACTION
  - step: length
    min_length: 3
checks:
  - check: plugin_letters
gate:
  - metric: plugin_letters.longest
    op: "<"
    threshold: 100000
"""
CLEAN_FILES = ("clean.jsonl", "dropped.jsonl", "quarantine.jsonl", "duplicates.jsonl")
AUDIT_FILES = ("audit.json", "findings.jsonl", "audit.md", "junit.xml", "audit.sarif")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(11)
    folder = tmp_path_factory.mktemp("plugins")
    lines = []
    for i in range(600):
        words = [
            f"{rng.choice(WORDS)}{rng.randrange(40)}",
            *rng.choices(WORDS, k=rng.randint(2, 30)),
        ]
        lines.append(json.dumps({"id": f"r{i}", "text": " ".join(words)}))
        if i % 97 == 5:
            lines.append("{broken")
    path = folder / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _rules(folder: Path, action: str = "drop") -> Path:
    path = folder / f"rules-{action}.yaml"
    path.write_text(RULES.replace("STEP_ACTION", action))
    return path


def _files(folder: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in names}


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "POOL_MIN_BYTES", 0)  # workers from the first batch on


class Stop(Exception):
    pass


def _stop_after(chunks: int):
    seen = {"n": 0}

    def progress(*_: object) -> None:
        seen["n"] += 1
        if seen["n"] > chunks:
            raise Stop

    return progress


def test_no_engine_module_names_the_plugins() -> None:
    root = Path(__file__).resolve().parent.parent
    names = ("plugin_mark_word", "plugin_one_per_first_word", "plugin_letters", "plugin_steps")
    for path in [*(root / "curate").rglob("*.py"), *(root / "audit").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert not any(name in text for name in names), path
    assert "plugin_steps" in registry.plugin_modules()


def test_clean_with_plugins_is_identical_with_two_workers_and_after_resume(
    data: Path, tmp_path: Path, pool: None
) -> None:
    rules = load_rules(_rules(tmp_path))
    one = clean(data, tmp_path / "one", rules, workers=1)
    two = clean(data, tmp_path / "two", rules, workers=2)
    steps = {s["id"]: s for s in one.manifest["steps"]}
    assert steps["plugin_mark_word"]["dropped_by_reason"]["plugin_word"] > 0
    assert steps["plugin_mark_word"]["summary"]["records"] == steps["plugin_mark_word"]["in"]
    marked = steps["plugin_one_per_first_word"]
    assert marked["dropped_by_reason"]["plugin_same_first_word"] == marked["summary"]["marked"] > 0
    assert one.manifest["steps"] == two.manifest["steps"]
    assert _files(tmp_path / "one", CLEAN_FILES) == _files(tmp_path / "two", CLEAN_FILES)

    out = tmp_path / "resumed"
    for chunks in (3, 6):  # stopped while reading, then again later
        with pytest.raises(Stop):
            clean(data, out, rules, progress=_stop_after(chunks), resume=True, checkpoint_every=0)
    resumed = clean(data, out, rules, resume=True, checkpoint_every=0)
    assert resumed.resumed_from is not None
    assert resumed.manifest["steps"] == one.manifest["steps"]
    assert _files(out, CLEAN_FILES) == _files(tmp_path / "one", CLEAN_FILES)


def test_audit_with_plugins_is_identical_with_two_workers_and_after_resume(
    data: Path, tmp_path: Path, pool: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    rules = load_rules(_rules(tmp_path, "flag"))
    one = run_audit(data, tmp_path / "one", rules, workers=1)
    run_audit(data, tmp_path / "two", rules, workers=2)
    assert one.data["metrics"]["plugin_letters.longest"] > 60
    assert one.data["details"]["plugin_letters"]["scanned"] == one.data["counts"]["kept"]
    assert _files(tmp_path / "one", AUDIT_FILES) == _files(tmp_path / "two", AUDIT_FILES)
    out = tmp_path / "resumed"
    with pytest.raises(Stop):
        run_audit(data, out, rules, progress=_stop_after(4), resume=True, checkpoint_every=0)
    resumed = run_audit(data, out, rules, resume=True, checkpoint_every=0)
    assert resumed.resumed_from is not None
    assert _files(out, AUDIT_FILES) == _files(tmp_path / "one", AUDIT_FILES)


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # with the other Ray tests: one cluster at a time
def test_plugins_on_ray_equal_local(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("ray")
    from curate.engine_ray import read_shards

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    rules = _rules(tmp_path)
    local = clean(data, tmp_path / "local", rules)
    remote = clean(data, tmp_path / "ray", rules, engine="ray", num_cpus=2)
    assert remote.manifest["steps"] == local.manifest["steps"]
    assert remote.manifest["counts"] == local.manifest["counts"]
    for kind in ("clean", "dropped", "quarantine"):
        lines = list(read_shards(tmp_path / "ray", kind))
        expected = (tmp_path / "local" / f"{kind}.jsonl").read_bytes().splitlines()
        if kind == "dropped":  # locally in the order steps dropped them, on Ray in input order
            lines, expected = sorted(lines), sorted(expected)
        assert lines == expected, kind
    assert (tmp_path / "ray" / "duplicates.jsonl").read_bytes() == (
        tmp_path / "local" / "duplicates.jsonl"
    ).read_bytes()
    flag = _rules(tmp_path, "flag")
    audit_local = run_audit(data, tmp_path / "audit-local", flag).data
    audit_ray = run_audit(data, tmp_path / "audit-ray", flag, engine="ray", num_cpus=2).data
    assert audit_ray == audit_local
    assert os.environ.get(registry.PLUGINS_ENV) is None  # Ray learnt of them by itself
