"""Every kind of bad rules file gives exit 2 and one line naming the file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from curate.errors import RulesError
from curate.rules import load_rules

# (name, rules text, expected line, a fragment the message must contain)
BAD_RULES = [
    (
        "unknown_top_key",
        "version: 1\nstepz: []\n",
        2,
        "unknown key 'stepz' (did you mean 'steps'?)",
    ),
    (
        "unknown_step",
        "steps:\n  - step: dedupe_exakt\n",
        2,
        "unknown step 'dedupe_exakt' (did you mean 'dedupe_exact'?)",
    ),
    (
        "unknown_step_param",
        "steps:\n  - step: dedupe_exact\n    normalise: lower\n",
        3,
        "unknown key 'normalise' for step 'dedupe_exact' (did you mean 'normalize'?)",
    ),
    ("seed_wrong_type", "name: x\nseed: abc\n", 2, "seed"),
    ("seed_out_of_range", "name: x\nseed: -1\n", 2, "greater than or equal to 0"),
    (
        "bad_enum",
        "steps:\n  - step: dedupe_exact\n    normalize: upper\n",
        3,
        "normalize",
    ),
    ("yaml_syntax", "name: x\nsteps: [\n", 3, "invalid YAML"),
    ("not_a_mapping", "- a\n- b\n", 1, "must be a mapping"),
    ("extends_missing", "name: x\nextends: nothere.yaml\n", 2, "extends: file not found"),
    ("step_without_name", "steps:\n  - id: x\n", 2, "missing 'step: <name>'"),
    (
        "duplicate_step_id",
        "steps:\n  - step: dedupe_exact\n  - step: dedupe_exact\n",
        3,
        "used twice",
    ),
    (
        "gate_unknown_metric",
        "gate:\n  - metric: dataset.quarantine_rate\n    threshold: 0\n",
        2,
        "did you mean 'dataset.quarantined_rate'",
    ),
    (
        "gate_bad_op",
        "gate:\n  - metric: dataset.records\n    op: '=<'\n    threshold: 1\n",
        3,
        "op",
    ),
    (
        "gate_bad_severity",
        "gate:\n  - metric: dataset.records\n    threshold: 1\n    severity: fatal\n",
        4,
        "severity",
    ),
    (
        "gate_threshold_missing",
        "gate:\n  - metric: dataset.records\n",
        2,
        "required key is missing",
    ),
    ("text_and_chat", "fields:\n  text: text\n  chat: messages\n", 1, "either 'text' or 'chat'"),
    ("batch_size_zero", "read:\n  batch_size: 0\n", 2, "greater than or equal to 1"),
    ("bad_action", "steps:\n  - step: dedupe_exact\n    action: remove\n", 3, "action"),
    ("unknown_field_key", "fields:\n  txt: body\n", 2, "did you mean 'text'"),
    ("unknown_check", "checks:\n  - check: piii\n", 2, "unknown check 'piii'"),
    (
        "alias_bomb",
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n"
            for p, n in zip("abcdef", "bcdefg", strict=True)
        ),
        None,
        "alias bomb",
    ),
    ("steps_not_a_list", "steps:\n  step: dedupe_exact\n", 1, "valid list"),
]


@pytest.mark.parametrize(
    ("name", "text", "line", "fragment"), BAD_RULES, ids=[b[0] for b in BAD_RULES]
)
def test_bad_rules_exit_2_with_file_and_line(
    tmp_path: Path, cli, name: str, text: str, line: int | None, fragment: str
) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, err = cli("rules", "validate", path)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line, no traceback
    message = lines[0]
    if line is not None:
        assert f"{path}:{line}:" in message
    else:
        assert re.search(rf"{re.escape(str(path))}:\d+:", message)
    assert fragment in message


def test_error_in_extended_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("name: base\nseed: 1\nfields:\n  textt: body\n")
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\n")
    with pytest.raises(RulesError) as err:
        load_rules(tmp_path / "child.yaml")
    assert f"{tmp_path / 'base.yaml'}:4:" in str(err.value)


def test_extends_cycle_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(RulesError, match="cycle"):
        load_rules(tmp_path / "a.yaml")


def test_rules_file_not_utf8(tmp_path: Path, cli) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    code, _, err = cli("rules", "validate", path)
    assert code == 2 and "not UTF-8" in err


def test_rules_file_too_large(tmp_path: Path, cli) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * (1 << 20) + "\n")
    code, _, err = cli("rules", "validate", path)
    assert code == 2 and "over the" in err


def test_rules_never_execute_python_tags(tmp_path: Path, cli) -> None:
    path = tmp_path / "evil.yaml"
    marker = tmp_path / "pwned"
    path.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    code, _, err = cli("rules", "validate", path)
    assert code == 2 and "invalid YAML" in err
    assert not marker.exists()


def test_extends_merges_and_child_wins(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "name: base\nseed: 7\nfields:\n  text: body\n  id: uid\nsteps:\n  - step: dedupe_exact\n"
    )
    (tmp_path / "child.yaml").write_text(
        "extends: base.yaml\nname: child\nfields:\n  text: content\n"
    )
    rules = load_rules(tmp_path / "child.yaml")
    assert rules.name == "child"
    assert rules.seed == 7
    assert rules.fields.text == "content" and rules.fields.id == "uid"  # deep merge
    assert [s.step for s in rules.steps] == ["dedupe_exact"]
    assert rules.files == [str(tmp_path / "child.yaml"), str(tmp_path / "base.yaml")]


def test_bundled_rule_sets_validate(cli) -> None:
    code, out, _ = cli("rules", "validate", "default", "pretraining", "instruction")
    assert code == 0
    assert out.count(": ok") == 3


def test_rules_hash_ignores_comments_but_not_values(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    c = tmp_path / "c.yaml"
    a.write_text("name: x\nseed: 1\n")
    b.write_text("# a comment\nname: x\nseed: 1\n")
    c.write_text("name: x\nseed: 2\n")
    assert load_rules(a).sha256 == load_rules(b).sha256 != load_rules(c).sha256


def test_rules_show_lists_steps_with_defaults(cli) -> None:
    code, out, _ = cli("rules", "show", "--json")
    assert code == 0
    import json

    catalogue = json.loads(out)
    assert catalogue["dedupe_exact"]["params"]["normalize"]["default"] == "lower"
    assert catalogue["dedupe_exact"]["params"]["normalize"]["doc"]
    assert "default" in " ".join(catalogue["bundled_rules"])
