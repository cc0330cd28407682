"""``extends:`` merges the rule lists entry by entry, and says where every entry came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curate.errors import RulesError
from curate.rules import load_rules

DEFAULT_GATE = [g.name for g in load_rules("default").gate]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_one_added_gate_entry_keeps_the_seven_it_extends(tmp_path: Path) -> None:
    child = _write(
        tmp_path / "child.yaml",
        "extends: default\ngate:\n  - metric: dataset.mean_chars\n    op: '>='\n"
        "    threshold: 20\n    name: long enough\n",
    )
    rules = load_rules(child)
    assert len(DEFAULT_GATE) == 7
    assert [g.name for g in rules.gate] == [*DEFAULT_GATE, "long enough"]
    assert rules.gate[-1].origin == (f"{child}:3",)
    assert rules.gate[0].origin[0].startswith("bundled:default.yaml:")


def test_entries_matched_by_name_id_and_check_override_in_place(tmp_path: Path) -> None:
    child = _write(
        tmp_path / "child.yaml",
        "extends: default\n"
        "steps:\n  - step: dedupe_near\n    threshold: 0.95\n"
        "checks:\n  - check: representation\n    min_mentions: 50\n"
        "gate:\n  - name: exact duplicates at most 20%\n    threshold: 0.05\n",
    )
    rules = load_rules(child)
    base = load_rules("default")
    assert [s.id for s in rules.steps] == [s.id for s in base.steps]  # order kept
    near = next(s for s in rules.steps if s.id == "dedupe_near")
    assert near.params.threshold == 0.95
    assert near.origin[1] == f"{child}:3"
    assert [c.check for c in rules.checks] == ["pii", "representation"]
    assert rules.checks[1].params.min_mentions == 50
    exact = next(g for g in rules.gate if g.name == "exact duplicates at most 20%")
    # The override keeps the entry's other keys (metric, op, severity) from the base.
    assert (exact.metric, exact.op, exact.threshold) == (
        "steps.dedupe_exact.flagged_rate",
        "<=",
        0.05,
    )
    assert len(rules.gate) == 7


def test_remove_and_replace(tmp_path: Path) -> None:
    removed = load_rules(
        _write(
            tmp_path / "r.yaml",
            "extends: default\ngate:\n"
            "  - name: records with personal data at most 0% (any is a warning)\n"
            "    remove: true\n",
        )
    )
    assert "records with personal data at most 0% (any is a warning)" not in [
        g.name for g in removed.gate
    ]
    assert len(removed.gate) == 6
    replaced = load_rules(
        _write(
            tmp_path / "p.yaml",
            "extends: default\nreplace: [gate, steps]\nsteps:\n  - step: dedupe_exact\n"
            "gate:\n  - metric: dataset.records\n    op: '>='\n    threshold: 1\n",
        )
    )
    assert [s.id for s in replaced.steps] == ["dedupe_exact"]
    assert [g.metric for g in replaced.gate] == ["dataset.records"]
    assert len(replaced.checks) == 2  # not replaced: still merged


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("gate:\n  - name: not a default entry\n    remove: true\n", 4, "nothing to remove"),
        ("replace: [gates]\n", 3, "unknown section 'gates'"),
        # The error names the child's line and the entry's index in the child, not the merge.
        (
            "gate:\n  - metric: dataset.records\n    op: '>='\n    threshold: x\n",
            6,
            "gate.0.threshold",
        ),
        ("steps:\n  - step: dedupe_near\n    threshold: 7\n", 5, "steps.0.threshold"),
    ],
)
def test_errors_name_the_file_and_line_that_wrote_the_entry(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    child = _write(tmp_path / "child.yaml", "# my rules\nextends: default\n" + text)
    with pytest.raises(RulesError) as err:
        load_rules(child)
    assert f"{child}:{line}:" in str(err.value)
    assert fragment in str(err.value)


def test_validate_says_how_many_entries_came_from_where(tmp_path: Path, cli) -> None:
    child = _write(
        tmp_path / "child.yaml",
        "extends: default\nsteps:\n  - step: dedupe_near\n    threshold: 0.9\n"
        "gate:\n  - metric: dataset.records\n    op: '>='\n    threshold: 1\n",
    )
    code, out, _ = cli("rules", "validate", child)
    assert code == 0
    assert "5 steps (5 from bundled:default.yaml, 1 overridden by " in out
    assert f"8 gate rules (7 from bundled:default.yaml, 1 from {child})" in out
    code, out, _ = cli("--json", "rules", "validate", child)
    counts = json.loads(out)[0]["counts"]
    assert counts["gate"]["added"] == {"bundled:default.yaml": 7, str(child): 1}


def test_show_effective_prints_loadable_rules_with_origins(tmp_path: Path, cli) -> None:
    child = _write(
        tmp_path / "child.yaml",
        "extends: default\nname: mine\nsteps:\n  - step: dedupe_near\n    threshold: 0.9\n"
        "gate:\n  - metric: dataset.records\n    op: '>='\n    threshold: 1\n"
        "  - name: records with personal data at most 0% (any is a warning)\n    remove: true\n",
    )
    code, out, err = cli("rules", "show", "--effective", child)
    assert code == 0, err
    assert f"# effective rules of {child} → bundled:default.yaml" in out
    assert f"threshold: 0.9}}  # bundled:default.yaml:22, overridden at {child}:4" in out
    assert f"threshold: 1.0, severity: fail}}  # {child}:7" in out
    assert (
        f"# removed: records with personal data at most 0% (any is a warning) (at {child}:10)"
        in out
    )
    assert str(Path(load_rules("default").source).parent) not in out  # no install paths
    # What it prints is a rules file of its own that loads to the same rules.
    flat = _write(tmp_path / "flat.yaml", out)
    assert load_rules(flat).sha256 == load_rules(child).sha256
    code, out, _ = cli("rules", "show", "--effective", child, "--json")
    data = json.loads(out)
    assert data["steps"][-1]["from"] == ["bundled:default.yaml:22", f"{child}:4"]
