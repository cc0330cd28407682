"""The runner chains every configured step once, in order."""

from __future__ import annotations

import json
from pathlib import Path

from curate.cleaning import clean


def test_each_step_runs_once_in_order(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    texts = ["A\u00a0text", "a text", "x", "another text entirely"]
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "steps:\n  - step: normalize\n  - step: length\n    min_length: 2\n  - step: dedupe_exact\n"
    )
    manifest = clean(data, tmp_path / "out", rules).manifest
    steps = {s["id"]: s for s in manifest["steps"]}
    assert [s["id"] for s in manifest["steps"]] == ["normalize", "length", "dedupe_exact"]
    assert (steps["normalize"]["in"], steps["normalize"]["changed"]) == (4, 1)
    assert (steps["length"]["in"], steps["length"]["dropped_by_reason"]) == (4, {"too_short": 1})
    # NFKC turned the no-break space into a space, so the first two are now duplicates.
    assert steps["dedupe_exact"]["in"] == 3
    assert steps["dedupe_exact"]["dropped_by_reason"] == {"exact_duplicate": 1}
    assert manifest["counts"]["kept"] == 2
