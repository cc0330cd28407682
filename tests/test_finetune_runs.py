"""Run folders: a non-empty one is refused unless --overwrite; a refused run writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sklearn")

from audit.run import run_audit
from finetune import run as finetune_run

RULES = """\
name: t
fields: {text: text, label: label}
steps:
  - step: dedupe_exact
gate:
  - metric: dataset.records
    op: ">="
    threshold: MINIMUM
"""


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(json.dumps({"text": f"text {i}", "label": "ab"[i % 2]}) + "\n" for i in range(12))
    )
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")  # enough for the checks before training
    passing = tmp_path / "pass.yaml"
    passing.write_text(RULES.replace("MINIMUM", "1"))
    failing = tmp_path / "fail.yaml"
    failing.write_text(RULES.replace("MINIMUM", "1000"))
    run_audit(data, tmp_path / "audit-pass", passing)
    run_audit(data, tmp_path / "audit-fail", failing)
    return {"data": data, "model": model, "pass": passing, "fail": failing, "root": tmp_path}


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_non_empty_run_folder_is_refused_and_left_as_it_was(
    setup: dict[str, Path], cli: Any
) -> None:
    run = setup["root"] / "run"
    (run / "model").mkdir(parents=True)
    (run / "model" / "weights.bin").write_text("the earlier model")
    before = _tree(run)
    code, _, err = cli(
        "finetune", setup["data"], "--model", setup["model"], "--out", run,
        "--rules", setup["pass"],
    )  # fmt: skip
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert f"{run}: the run folder is not empty (model)" in err and "--overwrite" in err
    assert _tree(run) == before  # no audit/, nothing


def test_a_refused_gate_leaves_no_folder(setup: dict[str, Path], cli: Any) -> None:
    run = setup["root"] / "new" / "run"
    code, _, err = cli(
        "finetune", setup["data"], "--model", setup["model"], "--out", run,
        "--rules", setup["fail"], "--audit", setup["root"] / "audit-fail",
    )  # fmt: skip
    assert code == 1 and "verdict is FAIL" in err
    assert not (setup["root"] / "new").exists()


def test_overwrite_replaces_only_the_earlier_runs_outputs_after_the_gate(
    setup: dict[str, Path], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = setup["root"] / "run"
    (run / "tensorboard" / "final").mkdir(parents=True)
    (run / "metrics.json").write_text("{}")
    (run / "notes.txt").write_text("mine")
    args = ["finetune", setup["data"], "--model", setup["model"], "--out", run, "--overwrite"]
    # A refused gate destroys nothing, even with --overwrite.
    code, _, _ = cli(*args, "--rules", setup["fail"], "--audit", setup["root"] / "audit-fail")
    assert code == 1 and (run / "metrics.json").exists()

    seen: list[list[str]] = []

    def fake_train(data_path: Path, run_dir: Path, *rest: Any) -> Any:
        seen.append(_tree(run_dir))
        raise RuntimeError("stop")  # stop before training: the folder is what matters here

    monkeypatch.setattr(finetune_run, "_train_and_report", fake_train)
    code, _, err = cli(*args, "--rules", setup["pass"], "--audit", setup["root"] / "audit-pass")
    assert "RuntimeError: stop" in err
    assert seen == [["notes.txt"]]  # old metrics and TensorBoard runs gone, the user's file kept
