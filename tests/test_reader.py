"""Reading every format without losing a record: kept, or quarantined with line and reason."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import zstandard
from curate_testutil import read_jsonl

from curate import batch as B
from curate.cleaning import clean
from curate.errors import InputError
from curate.reader import read_batches
from curate.rules import load_rules

MESSY = (
    b'\xef\xbb\xbf{"text": "first, after a BOM"}\r\n'  # 1 BOM + CRLF
    b'{"text": "second"}\n'  # 2
    b"\n"  # 3 blank
    b"   \r\n"  # 4 whitespace only
    b'{"text": "bad \xff\xfe utf8"}\n'  # 5 invalid UTF-8
    b'{"text": "truncated\n'  # 6 malformed JSON
    b'{"text": 42}\n'  # 7 wrong type
    b'{"body": "no text field"}\n'  # 8 missing field
    b'{"text": null}\n'  # 9 null text
    b'["an", "array"]\n'  # 10 not an object
    b'{"text": "caf\\u00e9 \\ud83d\\ude00"}\n'  # 11 escapes
    b'{"text": ""}\n'  # 12 empty text is valid (steps decide)
    b'{"text": "last, no trailing newline"}'  # 13
)


def rules_for(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def test_messy_jsonl_ledger_adds_up(tmp_path: Path) -> None:
    data = tmp_path / "messy.jsonl"
    data.write_bytes(MESSY)
    result = clean(data, tmp_path / "out", rules_for(tmp_path, "steps: []\n"))
    counts = result.manifest["counts"]
    assert counts["records"] == 11
    assert counts["blank_lines_skipped"] == 2
    assert counts["kept"] == 5
    assert counts["quarantined"] == 6
    assert counts["dropped"] == 0
    assert counts["invariant"]["holds"] is True
    assert counts["records"] == counts["kept"] + counts["dropped"] + counts["quarantined"]
    quarantined = read_jsonl(tmp_path / "out" / "quarantine.jsonl")
    assert [(q["line"], q["reason"]) for q in quarantined] == [
        (5, "invalid_utf8"),
        (6, "invalid_json"),
        (7, "wrong_type"),
        (8, "missing_field"),
        (9, "wrong_type"),
        (10, "not_an_object"),
    ]
    for q in quarantined:
        assert q["error"].startswith(f"{data}:{q['line']}: ")
    assert "field 'text'" in quarantined[2]["error"]
    kept = (tmp_path / "out" / "clean.jsonl").read_bytes().splitlines()
    # Kept records are written back byte for byte (minus the BOM and the CR).
    assert kept[0] == b'{"text": "first, after a BOM"}'
    assert kept[2] == b'{"text": "caf\\u00e9 \\ud83d\\ude00"}'
    assert kept[-1] == b'{"text": "last, no trailing newline"}'


def test_ids_default_to_line_numbers_and_can_come_from_a_field(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"uid": "a", "text": "x"}\n\n{"uid": 7, "text": "y"}\n{"text": "z"}\n')
    rules = load_rules(rules_for(tmp_path, "fields:\n  text: text\n"))
    frame = pl.concat([b.frame for b in read_batches(data, rules)])
    assert frame[B.ID].to_list() == ["1", "3", "4"]
    rules = load_rules(rules_for(tmp_path, "fields:\n  text: text\n  id: uid\n"))
    batches = list(read_batches(data, rules))
    frame = pl.concat([b.frame for b in batches])
    assert frame[B.ID].to_list() == ["a", "7"]
    assert [q.reason for b in batches for q in b.quarantined] == ["bad_id"]


def test_multi_field_records_join_and_keep_paths(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(
        json.dumps({"instruction": "Add", "input": "2+2", "output": "4"})
        + "\n"
        + json.dumps({"instruction": "Greet", "output": "Hi"})
        + "\n"
        + json.dumps({"instruction": "Greet", "input": None, "output": "Hi"})
        + "\n"
        + json.dumps({"instruction": "Greet"})
        + "\n"
    )
    rules = load_rules(
        rules_for(
            tmp_path,
            "fields:\n  text: [instruction, input, output]\n  optional: [input]\n  join: ' | '\n",
        )
    )
    batches = list(read_batches(data, rules))
    frame = pl.concat([b.frame for b in batches])
    assert frame[B.TEXT].to_list() == ["Add | 2+2 | 4", "Greet | Hi", "Greet | Hi"]
    paths = frame[B.SEGMENTS].list.eval(pl.element().struct.field("path")).to_list()
    assert paths[0] == ["instruction", "input", "output"]
    assert [(q.line, q.reason) for b in batches for q in b.quarantined] == [(4, "missing_field")]


def test_chat_records_keep_roles_and_content_parts(tmp_path: Path) -> None:
    data = tmp_path / "chat.jsonl"
    records = [
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": None, "tool_calls": []},
                {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
            ]
        },
        {"messages": "not a list"},
        {"messages": [{"content": "no role"}]},
        {"messages": [{"role": "user", "content": 3}]},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in records))
    rules = load_rules(rules_for(tmp_path, "fields:\n  chat: messages\n"))
    batches = list(read_batches(data, rules))
    frame = pl.concat([b.frame for b in batches])
    segments = frame[B.SEGMENTS].to_list()[0]
    assert [(s["role"], s["path"], s["text"]) for s in segments] == [
        ("system", "messages/0/content", "Be brief."),
        ("user", "messages/1/content", "Hi"),
        ("assistant", "messages/3/content/0/text", "Hello"),
    ]
    reasons = [(q.line, q.reason) for b in batches for q in b.quarantined]
    assert reasons == [(2, "wrong_type"), (3, "wrong_type"), (4, "wrong_type")]


def _records(n: int) -> list[dict[str, object]]:
    return [{"id": i, "text": f"record number {i}", "label": i % 2} for i in range(n)]


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz", "jsonl.zst", "csv", "parquet"])
def test_each_format_reads_every_record(tmp_path: Path, fmt: str) -> None:
    records = _records(25)
    path = tmp_path / f"data.{fmt}"
    lines = "".join(json.dumps(r) + "\n" for r in records).encode()
    if fmt == "jsonl":
        path.write_bytes(lines)
    elif fmt == "jsonl.gz":
        path.write_bytes(gzip.compress(lines))
    elif fmt == "jsonl.zst":
        path.write_bytes(zstandard.ZstdCompressor().compress(lines))
    elif fmt == "csv":
        pl.DataFrame(records).write_csv(path)
    else:
        pl.DataFrame(records).write_parquet(path)
    rules = load_rules(
        rules_for(
            tmp_path, "fields:\n  text: text\n  id: id\n  label: label\nread:\n  batch_size: 7\n"
        )
    )
    batches = list(read_batches(path, rules))
    assert [b.frame.height for b in batches] == [7, 7, 7, 4]  # bounded batches
    frame = pl.concat([b.frame for b in batches])
    assert frame[B.ID].to_list() == [str(i) for i in range(25)]
    assert frame[B.TEXT].to_list() == [f"record number {i}" for i in range(25)]
    assert frame["label"].to_list() == [str(i % 2) for i in range(25)]  # labels as strings


def test_csv_quarantines_ragged_and_invalid_rows_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_bytes(
        b'id,text\n1,"hello, world"\n2,"multi\nline"\n3\n4,ok,extra\n5,bad \xff byte\n6,fine\n'
    )
    rules = load_rules(rules_for(tmp_path, "fields:\n  text: text\n  id: id\n"))
    batches = list(read_batches(path, rules))
    frame = pl.concat([b.frame for b in batches])
    assert frame[B.TEXT].to_list() == ["hello, world", "multi\nline", "fine"]
    assert frame[B.LINE].to_list() == [2, 3, 8]
    quarantined = [(q.line, q.reason) for b in batches for q in b.quarantined]
    assert quarantined == [(5, "invalid_csv"), (6, "invalid_csv"), (7, "invalid_utf8")]


def test_over_long_line_is_quarantined_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    long_text = "x" * 50_000
    path.write_text(f'{{"text": "short"}}\n{{"text": "{long_text}"}}\n{{"text": "after"}}\n')
    rules = load_rules(rules_for(tmp_path, "read:\n  max_line_bytes: 10000\n"))
    batches = list(read_batches(path, rules))
    frame = pl.concat([b.frame for b in batches])
    assert frame[B.TEXT].to_list() == ["short", "after"]
    (q,) = [q for b in batches for q in b.quarantined]
    assert (q.line, q.reason) == (2, "line_too_long")
    assert len(q.raw) <= 10_001


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", b"", "no records"),
        ("blank.jsonl", b"\n\n  \n", "no records"),
        ("data.txt", b'{"text": "x"}\n', "unknown input format"),
        ("broken.jsonl.gz", b"not gzip at all", "corrupt gzip"),
        ("broken.jsonl.zst", b"not zstd at all", "corrupt zstd"),
        ("broken.parquet", b"PAR1 nonsense", "cannot read Parquet"),
    ],
)
def test_unreadable_inputs_are_one_line_errors(
    tmp_path: Path, cli, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = cli("clean", path, "--out", tmp_path / "out")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert str(path) in err and message in err
    assert not (tmp_path / "out" / "clean.jsonl").exists()


def test_missing_input_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        clean(tmp_path / "nope.jsonl", tmp_path / "out")


def test_parts_of_a_file_read_as_the_whole_and_check_their_bytes(tmp_path: Path) -> None:
    """``split_file`` / ``read_part`` (Ray's read tasks): at any part size the parts give the
    records, line numbers, quarantine and blanks of reading the file whole; a byte changed
    after the scan (same size and mtime) in a line crossing a part's end is an error for the
    part that parses it and for the one that skips it."""
    import os

    from curate.reader import read_part, split_file

    lines = [json.dumps({"id": f"r{i}", "text": "w " * (i % 17)}) for i in range(120)]
    lines[40], lines[41], lines[77] = "{bad " + "x" * 250, "", "   "
    data = tmp_path / "d.jsonl"
    data.write_bytes("\n".join(lines).encode())  # no newline at the end
    rules = load_rules(rules_for(tmp_path, "read: {batch_size: 13}\nsteps: []\n"))

    def seen(batches: list[Any]) -> tuple[list[Any], list[Any], int]:
        rows = [r for b in batches for r in b.frame.select(B.LINE, B.ID, B.RAW).rows()]
        quarantined = [(q.line, q.reason, q.raw) for b in batches for q in b.quarantined]
        return sorted(rows), sorted(quarantined), sum(b.blank_lines for b in batches)

    whole = seen(list(read_batches(data, rules)))
    assert whole[1] and whole[2] == 2
    for size in (1, 50, 333, 10**6):
        fingerprint, parts = split_file(data, "jsonl", size)
        assert fingerprint.sha256 == hashlib.sha256(data.read_bytes()).hexdigest()
        assert seen([b for p in parts for b in read_part(data, "jsonl", p, rules)]) == whole
    _, parts = split_file(data, "jsonl", 100)
    body = bytearray(data.read_bytes())
    k = next(k for k, p in enumerate(parts) if body[p.end - 1] != ord("\n"))
    tail = next(i for i in range(parts[k].end, len(body)) if body[i] != ord("\n"))
    assert ord("\n") in body[tail : parts[k + 1].end]  # the crossing line ends in part k + 1
    stat = data.stat()
    body[tail] = ord("Z") if body[tail] != ord("Z") else ord("Y")
    data.write_bytes(bytes(body))
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    for part in parts[k : k + 2]:
        with pytest.raises(InputError, match="the input changed during the run"):
            list(read_part(data, "jsonl", part, rules))
