"""Progress on a terminal: reading, then the whole-dataset phases; a training bar."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from rich.console import Console

from curate import cli as cli_module
from curate.progress import TerminalProgress


def _console(buffer: io.StringIO) -> Console:
    return Console(file=buffer, force_terminal=True, width=150, color_system=None)


def test_reading_to_the_end_switches_to_the_whole_dataset_phase() -> None:
    buffer = io.StringIO()
    with TerminalProgress("audit", 2_000_000, _console(buffer)) as progress:
        progress(100, 1_000_000)
        progress(100, 2_000_000)
        progress(50, 2_000_000)  # a late call after the switch changes nothing
        progress.phase("reports")
    assert progress.phases == ["whole-dataset steps (dedup, checks, reports)", "reports"]
    assert progress.records == 200
    out = buffer.getvalue()
    assert "audit: reading" in out and "audit: whole-dataset steps" in out


def test_a_training_phase_shows_step_loss_and_eta() -> None:
    buffer = io.StringIO()
    with TerminalProgress("finetune", None, _console(buffer)) as progress:
        progress.phase("train final", 40)
        progress.update(10, loss=0.6931)
    out = buffer.getvalue()
    assert "finetune: train final" in out
    assert "step 10/40 loss 0.6931" in out and "eta" in out


def test_audit_on_a_terminal_shows_the_phases(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(cli_module, "_console", lambda stderr=False: _console(buffer))
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"text": f"record {i}"}) + "\n" for i in range(30)))
    rules = tmp_path / "r.yaml"
    rules.write_text("fields: {text: text}\nsteps:\n  - step: dedupe_exact\n")
    code, _, _ = cli("audit", data, "--rules", rules, "--report", tmp_path / "rep")
    assert code == 0
    shown = buffer.getvalue()
    assert "audit: reading" in shown
    assert "audit: whole-dataset steps (dedup, checks, reports)" in shown
