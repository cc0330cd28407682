"""Issue 15: inputs are read as named (no globs), hashed as read, and read faithfully."""

from __future__ import annotations

import ast
import gzip
import hashlib
import json
import os
from pathlib import Path

import polars as pl
import pytest
import zstandard

from audit.run import run_audit
from curate.errors import InputError
from curate.inputfile import ReadRecord
from curate.reader import read_batches
from curate.rules import load_rules
from curate.sources import FileSource, open_source

REPO = Path(__file__).resolve().parent.parent
RULES = "name: t\nfields:\n  text: text\nread:\n  batch_size: 10\n"


@pytest.fixture
def rules(tmp_path: Path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return load_rules(path)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def jsonl(path: Path, n: int, word: str = "good") -> Path:
    path.write_text("".join(json.dumps({"text": f"{word} record {i}"}) + "\n" for i in range(n)))
    return path


# --- item 2: paths are literal ------------------------------------------------------------


def test_parquet_path_with_brackets_is_read_literally(tmp_path: Path, rules) -> None:
    pl.DataFrame({"text": ["literal file"] * 3}).write_parquet(tmp_path / "d[12].parquet")
    pl.DataFrame({"text": ["decoy one"]}).write_parquet(tmp_path / "d1.parquet")
    pl.DataFrame({"text": ["decoy two"]}).write_parquet(tmp_path / "d2.parquet")
    source = open_source(tmp_path / "d[12].parquet")
    texts = [t for b in source.read(rules) for t in b.frame["_text"].to_list()]
    assert texts == ["literal file"] * 3
    assert source.describe(rules)["sha256"] == sha(tmp_path / "d[12].parquet")


def test_no_polars_read_in_the_tree_takes_a_path_as_a_pattern() -> None:
    """Every polars reader called on a path says glob=False (or is given an open file)."""
    globbing = {"read_parquet", "scan_parquet", "scan_ipc", "scan_csv", "read_csv"}
    no_glob_param = {"scan_ndjson", "read_ndjson", "read_ipc", "read_ipc_stream"}
    bad = []
    for pkg in ("curate", "audit", "finetune"):
        for file in (REPO / pkg).rglob("*.py"):
            rel = file.relative_to(REPO).as_posix()
            for node in ast.walk(ast.parse(file.read_text())):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                name = node.func.attr
                kw = {k.arg: k.value for k in node.keywords}
                if name in globbing and not (
                    isinstance(kw.get("glob"), ast.Constant) and kw["glob"].value is False
                ):
                    bad.append(f"{rel}:{node.lineno} {name}")
                if name in no_glob_param and isinstance(node.args[0], ast.Name):
                    arg = node.args[0].id
                    if arg in ("path", "shard", "source", "file"):
                        bad.append(f"{rel}:{node.lineno} {name}({arg})")
    assert bad == []


@pytest.mark.parametrize(("command", "option"), [("audit", "--report"), ("clean", "--out")])
def test_output_folder_with_brackets_works(tmp_path: Path, cli, command: str, option: str) -> None:
    """`--report 'R[1]'` / `--out 'out[1]'`: a spool inside is read back as a glob (exit 3)."""
    data = jsonl(tmp_path / "d.jsonl", 5)
    rules = tmp_path / "r.yaml"
    rules.write_text(RULES + "steps:\n  - step: dedupe_near\n")
    code, _, err = cli(command, data, "--rules", rules, option, tmp_path / "R[1]", "-q")
    assert code == 0, err


# --- item 3: hash what was read -----------------------------------------------------------


@pytest.mark.parametrize("name", ["d.jsonl", "d.jsonl.gz", "d.jsonl.zst", "d.csv"])
def test_digest_is_of_the_bytes_read(tmp_path: Path, rules, name: str) -> None:
    body = "".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(25)).encode()
    if name.endswith(".csv"):
        body = ("text\n" + "".join(f"row {i}\n" for i in range(25))).encode()
    if name.endswith(".gz"):
        body = gzip.compress(body)
    if name.endswith(".zst"):
        body = zstandard.ZstdCompressor().compress(body)
    path = tmp_path / name
    path.write_bytes(body)
    seen = ReadRecord()
    batches = list(read_batches(path, rules, seen))
    assert sum(b.frame.height for b in batches) == 25
    assert seen.fingerprint is not None
    assert seen.fingerprint.sha256 == hashlib.sha256(body).hexdigest()
    assert seen.fingerprint.bytes == len(body)


def test_file_swapped_during_the_read_is_an_error(tmp_path: Path, rules) -> None:
    data = jsonl(tmp_path / "data.jsonl", 50)
    bad = jsonl(tmp_path / "bad.jsonl", 50, word="bad")
    reading = read_batches(data, rules)
    next(reading)
    os.replace(bad, data)  # mv bad.jsonl data.jsonl, while the read is under way
    with pytest.raises(InputError, match="changed during the run"):
        list(reading)


def test_file_truncated_during_the_read_is_an_error(tmp_path: Path, rules) -> None:
    data = jsonl(tmp_path / "data.jsonl", 5000)
    reading = read_batches(data, rules)
    next(reading)
    with open(data, "r+b") as handle:
        handle.truncate(0)
    with pytest.raises(InputError, match="changed during the run"):
        list(reading)


def test_file_removed_during_the_read_is_an_error(tmp_path: Path, rules) -> None:
    data = jsonl(tmp_path / "data.jsonl", 50)
    reading = read_batches(data, rules)
    next(reading)
    data.unlink()
    with pytest.raises(InputError, match="removed"):
        list(reading)


def test_swap_after_the_read_before_the_audit_is_recorded_exits_2(tmp_path: Path, cli) -> None:
    """`curate audit data.jsonl & sleep 3; mv bad.jsonl data.jsonl`: never PASS bound to bad."""
    data = jsonl(tmp_path / "data.jsonl", 50)
    bad = jsonl(tmp_path / "bad.jsonl", 50, word="bad")
    rules = tmp_path / "r.yaml"
    rules.write_text(RULES)
    swapped = []

    def progress(records: int, done: int) -> None:
        if not swapped:
            os.replace(bad, data)
            swapped.append(True)

    with pytest.raises(InputError, match="changed during the run"):
        run_audit(data, tmp_path / "rep", rules, progress=progress, workers=1)
    assert not (tmp_path / "rep" / "audit.json").exists()


def test_describe_before_and_after_a_read_agree(tmp_path: Path, rules) -> None:
    data = jsonl(tmp_path / "data.jsonl", 30)
    source = FileSource(data)
    before = source.describe(rules)
    list(source.read(rules))
    after = source.describe(rules)
    assert before == after and after["sha256"] == sha(data)
    # Same size, same mtime kept, other bytes: the read's digest differs from the first one.
    source = FileSource(data)
    source.describe(rules)
    stat = data.stat()
    data.write_text(data.read_text().replace("good", "evil"))
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    list(source.read(rules))
    with pytest.raises(InputError, match="changed during the run"):
        source.describe(rules)


# --- item 10: truncated zstd, long quoted CSV fields --------------------------------------


def test_truncated_zstd_fails_like_truncated_gzip(tmp_path: Path, rules, cli) -> None:
    body = "".join(json.dumps({"text": f"row number {i}"}) + "\n" for i in range(3000)).encode()
    packed = zstandard.ZstdCompressor().compress(body)
    cut = tmp_path / "cut.jsonl.zst"
    cut.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(InputError, match="corrupt zstd"):
        list(read_batches(cut, rules))
    code, _, err = cli("audit", cut, "--report", tmp_path / "rep", "-q")
    assert code == 2 and "zstd" in err and len(err.strip().splitlines()) == 1
    gz = tmp_path / "cut.jsonl.gz"
    gz.write_bytes(gzip.compress(body)[:-100])
    with pytest.raises(InputError, match="gzip"):
        list(read_batches(gz, rules))


def test_several_zstd_frames_are_all_read(tmp_path: Path, rules) -> None:
    one = b"".join(json.dumps({"text": f"a {i}"}).encode() + b"\n" for i in range(7))
    path = tmp_path / "multi.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(one) * 3)
    assert sum(b.frame.height for b in read_batches(path, rules)) == 21


def test_quoted_csv_field_over_the_limit_does_not_desynchronise(tmp_path: Path) -> None:
    rules_path = tmp_path / "r.yaml"
    rules_path.write_text("fields:\n  text: text\nread:\n  max_line_bytes: 1024\n")
    rules = load_rules(rules_path)
    inside = "\n".join(f"inner{i},fake,row" for i in range(1000))
    rows = ["first,1", f'"{inside}",2', "last row,3"]
    path = tmp_path / "d.csv"
    path.write_text("text,n\n" + "\n".join(rows) + "\n")
    batches = list(read_batches(path, rules))
    texts = [t for b in batches for t in b.frame["_text"].to_list()]
    quarantined = [q for b in batches for q in b.quarantined]
    assert texts == ["first", "last row"]
    assert [q.line for q in quarantined] == [3]
    lines = [line for b in batches for line in b.frame["_line"].to_list()]
    assert lines == [2, 1003]  # the last row keeps its real line number


# --- item 11 (reading) and item 12 (surrogates from the Python API) -----------------------


def test_json_numbers_out_of_double_range_are_valid(tmp_path: Path, rules) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text":"huge","x":1e999}\n{"text":"bad","x":NaN}\n')
    batches = list(read_batches(path, rules))
    assert [t for b in batches for t in b.frame["_text"].to_list()] == ["huge"]
    assert [q.reason for b in batches for q in b.quarantined] == ["invalid_json"]


def test_lone_surrogate_from_python_is_quarantined(tmp_path: Path, rules) -> None:
    source = open_source([{"text": "fine"}, {"text": "\ud800"}, {"text": "also fine"}])
    batches = list(source.read(rules))
    assert [t for b in batches for t in b.frame["_text"].to_list()] == ["fine", "also fine"]
    quarantined = [q for b in batches for q in b.quarantined]
    assert [(q.line, q.reason) for q in quarantined] == [(2, "invalid_utf8")]
    assert source.describe(rules)["bytes"] > 0


# --- item 11: numbers survive a text change -----------------------------------------------


def test_changed_records_keep_every_other_value_as_written(tmp_path: Path, cli) -> None:
    lines = [
        '{"text":"Cafe  double space","n":123456789012345678901234567890}',
        '{"text":"two  spaces", "e": 1E2, "big": 1e999, "nested": {"x": [1.50, -0.0]}}',
        '{"messages":[{"role":"user","content":"hi  there"}],"id":9007199254740993}',
        '{"text":"unchanged","n":1E2}',
    ]
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    rules = tmp_path / "r.yaml"
    rules.write_text("fields:\n  text: text\nsteps:\n  - step: normalize\n")
    code, _, err = cli("clean", data, "--rules", rules, "--out", tmp_path / "out", "-q")
    assert code == 0, err
    out = (tmp_path / "out" / "clean.jsonl").read_text().splitlines()
    assert out == [
        '{"text":"Cafe double space","n":123456789012345678901234567890}',
        '{"text":"two spaces", "e": 1E2, "big": 1e999, "nested": {"x": [1.50, -0.0]}}',
        '{"text":"unchanged","n":1E2}',
    ]
    chat = tmp_path / "chat.jsonl"
    chat.write_text(lines[2] + "\n")
    rules.write_text("fields:\n  chat: messages\nsteps:\n  - step: normalize\n")
    code, _, err = cli("clean", chat, "--rules", rules, "--out", tmp_path / "out2", "-q")
    assert code == 0, err
    assert (tmp_path / "out2" / "clean.jsonl").read_text() == (
        '{"messages":[{"role":"user","content":"hi there"}],"id":9007199254740993}\n'
    )


def test_splice_sets_keys_and_last_duplicate_wins() -> None:
    from curate.jsonsplice import splice

    assert splice('{"a":1,"t":"x","t":"y"}', [(["t"], "z")]) == '{"a":1,"t":"x","t":"z"}'
    assert splice("{}", [], {"_curate": {"k": 1}}) == '{"_curate":{"k":1}}'
    assert splice('{"a":1E2}', [], {"_curate": 1}) == '{"a":1E2,"_curate":1}'
    assert splice('{"_curate":0,"b":2}', [], {"_curate": 1}) == '{"_curate":1,"b":2}'
    assert splice('{"a":{"b/c":["p","q"]}}', [(["a", "b/c", "1"], "Q")]) == (
        '{"a":{"b/c":["p","Q"]}}'
    )


def test_python_api_quarantines_a_lone_surrogate(tmp_path: Path) -> None:
    from curate import clean

    result = clean([{"text": "fine"}, {"text": "\ud800"}], tmp_path / "out")
    assert result.manifest["counts"]["quarantined_by_reason"] == {"invalid_utf8": 1}
    entry = json.loads((tmp_path / "out" / "quarantine.jsonl").read_text())
    assert entry["line"] == 2 and entry["reason"] == "invalid_utf8"
