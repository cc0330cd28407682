"""rebalance: caps, copies and target shares, seeded and independent of the batch size."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import yaml

from curate import batch as B
from curate.cleaning import clean
from curate.errors import RulesError
from curate.registry import load_plugins
from curate.rules import load_rules
from curate.steps.rebalance import MISSING, Rebalance, RebalanceParams

load_plugins()


def write_data(path: Path, counts: dict[str | None, int], *, seed: int = 7, bad_lines: int = 0):
    """Records of each label in a shuffled order (a None label writes a record without one)."""
    labels = [lab for lab, n in counts.items() for _ in range(n)]
    order = np.random.default_rng(seed).permutation(len(labels))
    lines = []
    for i, at in enumerate(order):
        record: dict[str, Any] = {"text": f"record number {i}"}
        if labels[at] is not None:
            record["label"] = labels[at]
        lines.append(json.dumps(record))
    lines[1:1] = ["{not json"] * bad_lines
    path.write_text("\n".join(lines) + "\n")
    return path


def write_rules(
    folder: Path,
    step: dict[str, Any],
    *,
    batch_size: int = 1000,
    seed: int = 0,
    fields: dict[str, Any] | None = None,
) -> Path:
    rules = {
        "seed": seed,
        "fields": fields if fields is not None else {"text": "text", "label": "label"},
        "read": {"batch_size": batch_size},
        "steps": [{"step": "rebalance", **step}],
    }
    path = folder / f"rules-{batch_size}-{seed}.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path


def run(tmp_path: Path, data: Path, step: dict[str, Any], name: str = "out", **kw: Any):
    out = tmp_path / name
    result = clean(data, out, write_rules(tmp_path, step, **kw))
    return out, result.manifest


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def label_counts(records: list[dict[str, Any]]) -> Counter[str]:
    return Counter(r.get("label", MISSING) for r in records)


def assert_ledger(manifest: dict[str, Any]) -> None:
    counts = manifest["counts"]
    assert counts["records"] == counts["kept"] + counts["dropped"] + counts["quarantined"]
    assert counts["invariant"]["holds"]
    assert counts["written"] == counts["kept"] + counts["upsampled_copies"]
    assert manifest["outputs"]["clean.jsonl"]["lines"] == counts["written"]
    assert manifest["outputs"]["dropped.jsonl"]["lines"] == counts["dropped"]


# -- construction -------------------------------------------------------------------------


def test_column_is_required_at_construction() -> None:
    with pytest.raises(ValueError, match="'column' is required"):
        Rebalance(RebalanceParams())


def test_required_columns_names_the_column() -> None:
    assert Rebalance(RebalanceParams(column="topic")).required_columns() == ["topic"]


def test_target_mode_needs_a_target() -> None:
    with pytest.raises(ValueError, match="target"):
        RebalanceParams(column="label", mode="target")
    with pytest.raises(ValueError, match=">= 0"):
        RebalanceParams(column="label", mode="target", target={"a": -1.0, "b": 2.0})


def test_rules_errors_name_the_column(tmp_path: Path) -> None:
    data = write_data(tmp_path / "in.jsonl", {"a": 4, "b": 2})
    rules = write_rules(tmp_path, {"mode": "upsample"})
    with pytest.raises(RulesError, match=r"rules-1000-0\.yaml:\d+: .*'column' is required"):
        clean(data, tmp_path / "out", rules)
    rules = write_rules(tmp_path, {"column": "label"}, fields={"text": "text"})
    with pytest.raises(RulesError, match=r"\.yaml:\d+: .*reads column 'label'.*fields\.label"):
        clean(data, tmp_path / "out", rules)
    assert not (tmp_path / "out" / "clean.jsonl").exists()


# -- downsample ---------------------------------------------------------------------------


# 4.1 x 30 is 122.99999999999999 in floating point: the cap must still be 123
@pytest.mark.parametrize(("max_ratio", "cap"), [(1.0, 30), (1.5, 45), (3.0, 90), (4.1, 123)])
def test_downsample_caps_every_class_exactly_at_the_ratio(
    tmp_path: Path, max_ratio: float, cap: int
) -> None:
    counts = {"a": 150, "b": 30, "c": 100}
    data = write_data(tmp_path / "in.jsonl", counts)
    out, manifest = run(tmp_path, data, {"column": "label", "max_ratio": max_ratio})
    kept = label_counts(read_jsonl(out / "clean.jsonl"))
    assert kept == {k: min(n, cap) for k, n in counts.items()}
    dropped = read_jsonl(out / "dropped.jsonl")
    assert {r["_curate"]["reason"] for r in dropped} == (
        {"rebalance_downsampled"} if dropped else set()
    )
    assert label_counts(dropped) == {k: n - min(n, cap) for k, n in counts.items() if n > cap}
    # kept and dropped together are exactly the input records, each once
    texts = [r["text"] for r in read_jsonl(out / "clean.jsonl") + dropped]
    assert sorted(texts) == sorted(r["text"] for r in read_jsonl(data))
    summary = manifest["steps"][0]["summary"]
    assert summary["cap"] == cap
    assert summary["before"]["a"] == {"count": 150, "share": round(150 / 280, 6)}
    assert {k: v["count"] for k, v in summary["after"].items()} == dict(kept)
    assert_ledger(manifest)


def test_downsample_missing_labels_group_or_left_alone(tmp_path: Path) -> None:
    data = write_data(tmp_path / "in.jsonl", {"a": 30, "b": 12, None: 5})
    out, manifest = run(tmp_path, data, {"column": "label"}, name="grouped")
    assert label_counts(read_jsonl(out / "clean.jsonl")) == {"a": 5, "b": 5, MISSING: 5}
    assert manifest["steps"][0]["summary"]["before"][MISSING]["count"] == 5

    out, manifest = run(tmp_path, data, {"column": "label", "missing": "keep"}, name="kept")
    assert label_counts(read_jsonl(out / "clean.jsonl")) == {"a": 12, "b": 12, MISSING: 5}
    summary = manifest["steps"][0]["summary"]
    assert MISSING not in summary["before"]
    assert summary["left_alone"] == 5


# -- upsample -----------------------------------------------------------------------------


@pytest.mark.parametrize("min_ratio", [0.5, 0.75, 1.0])
def test_upsample_reaches_the_ratio_and_marks_the_copies(tmp_path: Path, min_ratio: float):
    counts = {"a": 40, "b": 7, "c": 20}
    data = write_data(tmp_path / "in.jsonl", counts, bad_lines=2)
    out, manifest = run(
        tmp_path, data, {"column": "label", "mode": "upsample", "min_ratio": min_ratio}
    )
    goal = int(np.ceil(min_ratio * 40))
    written = read_jsonl(out / "clean.jsonl")
    assert label_counts(written) == {k: max(n, goal) for k, n in counts.items()}
    copies = [r for r in written if r.get("_curate", {}).get("upsampled")]
    originals = [r for r in written if "_curate" not in r]
    assert len(originals) == sum(counts.values())
    assert len(copies) == sum(max(0, goal - n) for n in counts.values())
    # every copy is an original record of a class that was short, plus the marker
    by_text = {r["text"]: r for r in originals}
    for copy in copies:
        assert copy["_curate"] == {"upsampled": True}
        assert {k: v for k, v in copy.items() if k != "_curate"} == by_text[copy["text"]]
        assert counts[copy["label"]] < goal
    counts_json = manifest["counts"]
    assert counts_json["upsampled_copies"] == len(copies)
    assert counts_json["kept"] == sum(counts.values())
    assert counts_json["quarantined"] == 2
    assert manifest["steps"][0]["added"] == len(copies)
    assert manifest["steps"][0]["summary"]["copies"] == len(copies)
    assert_ledger(manifest)


def test_upsample_every_output_batch_has_the_marker_column() -> None:
    labels = ["a"] * 9 + ["b"] * 3
    batches = [
        B.from_texts([f"t{i}" for i in range(s, s + 4)], {"label": labels[s : s + 4]})
        for s in range(0, 12, 4)
    ]
    step = Rebalance(RebalanceParams(column="label", mode="upsample"), seed=3)
    step.fit(batches)
    outputs = [step.apply(b) for b in batches]
    for before, after in zip(batches, outputs, strict=True):
        assert after.schema[B.UPSAMPLED] == pl.Boolean
        assert after[B.UPSAMPLED].null_count() == 0
        originals = after.filter(~pl.col(B.UPSAMPLED))
        assert originals[B.ID].to_list() == before[B.ID].to_list()
        # copies stay in the batch of their original, right after it
        copies = after.filter(pl.col(B.UPSAMPLED))
        assert set(copies[B.ID].to_list()) <= set(before[B.ID].to_list())
        ids = after[B.ID].to_list()
        assert ids == sorted(ids, key=lambda i: before[B.ID].to_list().index(i))
    total_copies = sum(int(o[B.UPSAMPLED].sum()) for o in outputs)
    assert total_copies == 6


# -- target -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "target"),
    [
        ({"a": 60, "b": 30, "c": 45}, {"a": 0.5, "b": 0.3, "c": 0.2}),
        ({"a": 61, "b": 37, "c": 44}, {"a": 0.45, "b": 0.35, "c": 0.2}),
        ({"a": 13, "b": 50, "c": 29}, {"a": 1, "b": 3, "c": 3}),  # weights, not shares
    ],
)
def test_target_distribution_within_one_record(
    tmp_path: Path, counts: dict[str, int], target: dict[str, float]
) -> None:
    data = write_data(tmp_path / "in.jsonl", counts)
    out, manifest = run(tmp_path, data, {"column": "label", "mode": "target", "target": target})
    kept = label_counts(read_jsonl(out / "clean.jsonl"))
    total = sum(kept.values())
    weight = sum(target.values())
    for name, share in target.items():
        assert abs(kept[name] - total * share / weight) <= 1, (name, kept)
        assert kept[name] <= counts[name]  # downsampling only
    # as large as the data allows: some class is kept whole
    assert any(kept[name] == counts[name] for name in counts)
    assert manifest["counts"]["upsampled_copies"] == 0
    assert_ledger(manifest)


def test_target_accepts_numeric_labels_as_yaml_keys(tmp_path: Path) -> None:
    data = tmp_path / "in.jsonl"
    labels = [0] * 30 + [1] * 12 + [2.0] * 9
    data.write_text(
        "".join(json.dumps({"text": f"t{i}", "label": v}) + "\n" for i, v in enumerate(labels))
    )
    rules = tmp_path / "numeric.yaml"
    rules.write_text(
        "fields: {text: text, label: label}\n"
        "steps:\n"
        "  - {step: rebalance, column: label, mode: target,\n"
        "     target: {0: 0.5, 1: 0.25, 2.0: 0.25}}\n"
    )
    result = clean(data, tmp_path / "out", rules)
    after = result.manifest["steps"][0]["summary"]["after"]
    assert {k: v["count"] for k, v in after.items()} == {"0": 18, "1": 9, "2": 9}


def test_target_leaves_unnamed_classes_alone(tmp_path: Path) -> None:
    data = write_data(tmp_path / "in.jsonl", {"a": 40, "b": 10, "other": 7})
    out, manifest = run(
        tmp_path,
        data,
        {"column": "label", "mode": "target", "target": {"a": 0.5, "b": 0.5, "absent": 1.0}},
    )
    assert label_counts(read_jsonl(out / "clean.jsonl")) == {"a": 10, "b": 10, "other": 7}
    summary = manifest["steps"][0]["summary"]
    assert summary["not_in_target"] == ["other"]
    assert summary["target_absent"] == ["absent"]


# -- determinism --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "step",
    [
        {"column": "label", "max_ratio": 1.5},
        {"column": "label", "mode": "upsample", "min_ratio": 0.8},
        {"column": "label", "mode": "target", "target": {"a": 0.2, "b": 0.3, "c": 0.5}},
    ],
    ids=["downsample", "upsample", "target"],
)
def test_same_output_bytes_whatever_the_batch_size(tmp_path: Path, step: dict[str, Any]):
    data = write_data(tmp_path / "in.jsonl", {"a": 40, "b": 11, "c": 23, None: 4}, bad_lines=1)
    small, m_small = run(tmp_path, data, step, name="small", batch_size=3)
    large, m_large = run(tmp_path, data, step, name="large", batch_size=1000)
    for name in ("clean.jsonl", "dropped.jsonl"):
        assert (small / name).read_bytes() == (large / name).read_bytes()
    assert m_small["counts"] == m_large["counts"]
    assert m_small["steps"][0]["summary"] == m_large["steps"][0]["summary"]
    assert_ledger(m_small)
    # and the seed does drive the choice
    other, _ = run(tmp_path, data, step, name="other-seed", batch_size=3, seed=1)
    assert (other / "clean.jsonl").read_bytes() != (small / "clean.jsonl").read_bytes()


def test_apply_refuses_records_fit_did_not_see() -> None:
    step = Rebalance(RebalanceParams(column="label"))
    seen = B.from_texts(["x", "y", "z"], {"label": ["a", "a", "b"]})
    with pytest.raises(RuntimeError, match="before fit"):
        step.apply(seen)
    step.fit([seen])
    step.apply(seen)
    with pytest.raises(RuntimeError, match="more records than fit"):
        step.apply(B.from_texts(["w"], {"label": ["a"]}))


def test_rules_file_validates_the_step(tmp_path: Path) -> None:
    rules = write_rules(tmp_path, {"column": "label", "mode": "upsample", "min_ratio": 1.5})
    with pytest.raises(Exception, match="min_ratio"):
        load_rules(rules)


def test_a_later_step_may_drop_upsampled_copies(tmp_path: Path) -> None:
    data = write_data(tmp_path / "in.jsonl", {"a": 30, "b": 6})
    rules = tmp_path / "two-steps.yaml"
    up = {"step": "rebalance", "id": "up", "column": "label", "mode": "upsample"}
    # after "up" both classes hold 30: "down" keeps 8 of b, mostly dropping copies
    down = {
        "step": "rebalance",
        "id": "down",
        "column": "label",
        "mode": "target",
        "target": {"a": 0.8, "b": 0.2},
    }
    rules.write_text(
        yaml.safe_dump({"fields": {"text": "text", "label": "label"}, "steps": [up, down]})
    )
    counts = clean(data, tmp_path / "out", rules).manifest["counts"]
    assert counts["records"] == counts["kept"] + counts["dropped"] + counts["quarantined"]
    written = (tmp_path / "out" / "clean.jsonl").read_text().splitlines()
    assert label_counts([json.loads(line) for line in written]) == {"a": 30, "b": 8}
    dropped = [json.loads(line) for line in (tmp_path / "out" / "dropped.jsonl").open()]
    copies = [d for d in dropped if d["_curate"].get("upsampled")]
    assert len(dropped) - len(copies) == counts["dropped"]
    assert copies, "the later step dropped upsampled copies, and they are marked as such"
