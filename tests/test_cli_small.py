"""The smaller first-hour fixes: did-you-mean rules, semicolon CSV, Parquet out, the files an
audit wrote, every fine-tune setting listed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

RULES = "fields: {text: text, id: id}\nsteps:\n  - step: dedupe_exact\n"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(RULES)
    return path


def test_misspelt_bundled_rules_get_a_did_you_mean(tmp_path: Path, cli) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "a"}\n')
    code, _, err = cli("audit", data, "--rules", "defualt", "--report", tmp_path / "rep")
    assert code == 2
    assert "defualt: rules file not found (did you mean 'default'?)" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("setting", [None, ";"])
def test_semicolon_csv_is_read(tmp_path: Path, cli, setting: str | None) -> None:
    data = tmp_path / "d.csv"
    data.write_text('id;text\n1;"one; with a semicolon"\n2;two\n3;two\n')
    rules = tmp_path / "r.yaml"
    rules.write_text(RULES + (f'read: {{delimiter: "{setting}"}}\n' if setting else ""))
    code, out, err = cli("clean", data, "--rules", rules, "--out", tmp_path / "out", "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {**json.loads(out)["counts"], "kept": 2, "dropped": 1}
    kept = [
        json.loads(line) for line in (tmp_path / "out" / "clean.jsonl").read_text().splitlines()
    ]
    assert kept[0] == {"id": "1", "text": "one; with a semicolon"}


def test_comma_csv_with_semicolons_in_text_stays_comma(tmp_path: Path, cli, rules: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text('id,text\n1,"a; b; c"\n')
    code, _, err = cli("clean", data, "--rules", rules, "--out", tmp_path / "out")
    assert code == 0, err
    assert json.loads((tmp_path / "out" / "clean.jsonl").read_text())["text"] == "a; b; c"


def test_clean_writes_parquet_with_the_input_types(tmp_path: Path, cli, rules: Path) -> None:
    data = tmp_path / "d.parquet"
    pl.DataFrame(
        {
            "id": pl.Series([1, 2, 3], dtype=pl.Int32),
            "text": ["first text", "second text", "second text"],
            "score": [0.5, 1.5, 2.5],
        }
    ).write_parquet(data)
    out = tmp_path / "out"
    code, _, err = cli("clean", data, "--rules", rules, "--out", out, "--output-format", "parquet")
    assert code == 0, err
    frame = pl.read_parquet(out / "clean.parquet")
    assert frame.schema == {"id": pl.Int32, "text": pl.String, "score": pl.Float64}
    assert frame["id"].to_list() == [1, 2]
    assert (out / "clean.jsonl").is_file()  # still there: the manifest accounts for it
    # the manifest accounts for clean.parquet too: its rows and the bytes written
    listed = json.loads((out / "manifest.json").read_text())["outputs"]["clean.parquet"]
    assert listed["rows"] == 2
    assert listed["sha256"] == hashlib.sha256((out / "clean.parquet").read_bytes()).hexdigest()
    # a later JSONL-only run into the folder leaves no stale clean.parquet behind
    code, _, err = cli("clean", data, "--rules", rules, "--out", out)
    assert code == 0, err
    assert not (out / "clean.parquet").exists()
    assert "clean.parquet" not in json.loads((out / "manifest.json").read_text())["outputs"]


def test_audit_last_line_lists_every_file_it_wrote(tmp_path: Path, cli, rules: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "a"}\n{"text": "b"}\n')
    code, out, _ = cli("audit", data, "--rules", rules, "--report", tmp_path / "rep")
    assert code == 0
    last = out.strip().splitlines()[-1]
    for name in ("audit.json", "audit.md", "audit.html", "junit.xml", "audit.sarif",
                 "findings.jsonl"):  # fmt: skip
        assert name in last


def test_rules_show_finetune_lists_every_setting_with_its_default(cli) -> None:
    pytest.importorskip("pydantic")
    from finetune.config import FinetuneConfig, settings_catalogue

    code, out, _ = cli("rules", "show", "finetune", "--json")
    assert code == 0
    rows = {r["setting"]: r for r in json.loads(out)}
    assert set(FinetuneConfig.model_fields) - {"split", "search", "lora"} <= set(rows)
    assert rows["split.train"]["default"] == 0.8 and rows["lora.r"]["default"] == 8
    assert "2e-05" in rows["learning_rate"]["doc"]
    assert len(rows) == len(settings_catalogue())
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "curate rules show finetune" in readme and '-m "not slow"' in readme
