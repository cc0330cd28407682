"""A pattern-mode PII scan keeps presidio's transformers (and torch) imports out of the process,
and a process that goes on to train can still import them."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
import json, sys
from curate.cli import run
code = run(["-q", "audit", sys.argv[1], "--report", sys.argv[2], "--workers", "1"])
loaded = {name: name in sys.modules for name in ("torch", "transformers", "presidio_analyzer")}
later = None
if sys.argv[3] == "1":
    import transformers
    later = bool(transformers.__version__)
print(json.dumps({"code": code, "loaded": loaded, "later": later}))
"""


@pytest.mark.skipif(
    importlib.util.find_spec("transformers") is None, reason="needs the finetune extra"
)
def test_pattern_mode_audit_does_not_import_transformers_or_torch(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": f"ticket {i}: write to jane.doe{i}@example.org"}) + "\n"
            for i in range(5)
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data), str(tmp_path / "rep"), "1"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] == 1  # the default rules fail on that much personal data
    assert result["loaded"] == {"torch": False, "transformers": False, "presidio_analyzer": True}
    assert result["later"] is True  # the block is lifted: a fine-tune can still import them
    audit = json.loads((tmp_path / "rep" / "audit.json").read_text())
    assert audit["metrics"]["pii.records_with_pii"] == 5  # presidio still found every email
