"""``--engine ray`` gives the local engine's results: kept records, dropped ones, clusters,
counts, step summaries and audit metrics, on one Ray started here with two CPUs."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")
zstandard = pytest.importorskip("zstandard")
# One test worker runs every Ray test (``pytest -n 2 --dist loadgroup``): one cluster at a time.
pytestmark = pytest.mark.xdist_group("ray")

import polars as pl  # noqa: E402
from curate_testutil import chat_records, repeated_answers, write_jsonl  # noqa: E402

from audit.run import run_audit  # noqa: E402
from curate import engine_ray as R  # noqa: E402
from curate.cleaning import clean  # noqa: E402
from curate.errors import RulesError  # noqa: E402
from curate.ray_io import FAULT_ENV  # noqa: E402

WORDS = [f"w{i}" for i in range(300)]


def run_audit_ray(*args: Any, **options: Any) -> Any:
    return run_audit(*args, engine="ray", **options)


def clean_ray(*args: Any, **options: Any) -> Any:
    return clean(*args, engine="ray", **options)


CLEAN_STEPS = """
  - step: normalize
  - step: length
    min_length: 1
    max_length: 2000
  - step: length
    id: few_words
    action: flag
    unit: words
    min_length: 6
  - step: dedupe_exact
  - step: dedupe_near
    threshold: 0.7
"""


def _records(seed: int, count: int) -> list[dict[str, Any]]:
    """Texts with exact copies, near copies (one word changed), case changes and blanks."""
    rng = random.Random(seed)
    bases = [" ".join(rng.choices(WORDS, k=rng.randint(10, 50))) for _ in range(count // 3)]
    out = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.15:
            text = rng.choice(bases)
        elif roll < 0.35:
            words = rng.choice(bases).split()
            words[rng.randrange(len(words))] = "changed"
            text = " ".join(words)
        elif roll < 0.38:
            text = "   "
        else:
            text = " ".join(rng.choices(WORDS, k=rng.randint(3, 50)))
        if rng.random() < 0.1:
            text = text.upper()
        record: dict[str, Any] = {"id": f"r{i}", "text": text, "group": rng.choice("xy")}
        label = rng.choice(["a", "a", "a", "b", None])
        if label is not None:
            record["label"] = label
        out.append(record)
    return out


def _jsonl_lines(records: list[dict[str, Any]], seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for record in records:
        lines.append(json.dumps(record))
        if rng.random() < 0.02:
            lines.append("{not json")
        if rng.random() < 0.02:
            lines.append("")
    return lines


def _rules(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nseed: 5\nfields: {{text: text, id: id, label: label, "
        f"sensitive: [group]}}\nread: {{batch_size: 80}}\n{body}"
    )
    return path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One local Ray for the module; the returned folder arms the fault hook."""
    faults = tmp_path_factory.mktemp("faults")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        runtime_env={"env_vars": {FAULT_ENV: str(faults)}},
    )
    try:
        yield faults
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    path = folder / "data.jsonl"
    path.write_text("\n".join(_jsonl_lines(_records(1, 700), 2)) + "\n")
    return path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _assert_same_clean(local: Path, remote: Path) -> None:
    """Same kept records in the same order, same dropped records (the local file lists them
    in the order steps dropped them, the shards in input order), same clusters and counts."""
    assert list(R.read_shards(remote, "clean")) == _lines(local / "clean.jsonl")
    assert sorted(R.read_shards(remote, "dropped")) == sorted(_lines(local / "dropped.jsonl"))
    assert list(R.read_shards(remote, "quarantine")) == _lines(local / "quarantine.jsonl")
    assert (remote / "duplicates.jsonl").read_bytes() == (local / "duplicates.jsonl").read_bytes()
    ours = json.loads((remote / "manifest.json").read_text())
    theirs = json.loads((local / "manifest.json").read_text())
    assert ours["counts"] == theirs["counts"]
    assert ours["steps"] == theirs["steps"]
    assert ours["input"] == theirs["input"]


@pytest.mark.parametrize(
    "rebalance",
    [
        "  - step: rebalance\n    column: label\n    mode: downsample\n    max_ratio: 1.5\n",
        "  - step: rebalance\n    column: label\n    mode: upsample\n    min_ratio: 0.8\n",
    ],
    ids=["downsample", "upsample"],
)
def test_clean_on_ray_equals_local(cluster: Path, data: Path, tmp_path: Path, rebalance: str):
    rules = _rules(tmp_path, "clean", "steps:" + CLEAN_STEPS + rebalance)
    local = clean(data, tmp_path / "local", rules)
    remote = clean_ray(data, tmp_path / "ray", rules)
    _assert_same_clean(tmp_path / "local", tmp_path / "ray")
    near = remote.manifest["steps"][4]
    assert near["dropped"] > 0 and near["summary"]["candidate_pairs"] > 0  # the test bites
    assert remote.ledger.steps["dedupe_exact"].dropped["exact_duplicate"] > 0
    assert remote.ledger.steps["few_words"].flagged["too_short"] > 0
    assert remote.manifest["counts"]["upsampled_copies"] == local.ledger.added
    assert len(remote.manifest["outputs"]["clean"]["shards"]) > 1  # really several blocks


def test_shard_folder_reads_as_the_concatenated_file(cluster: Path, tmp_path: Path) -> None:
    """JSONL, gzip, zstd, CSV and Parquet shards in path order give the positions, clusters
    and kept ids of one file holding the same records in that order."""
    records = [{k: v for k, v in r.items() if k != "label"} for r in _records(3, 600)]
    parts = [records[:150], records[150:300], records[300:400], records[400:450], records[450:]]
    shards = tmp_path / "shards"
    (shards / "sub").mkdir(parents=True)
    (shards / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in parts[0]))
    with gzip.open(shards / "b.jsonl.gz", "wt") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in parts[1]))
    body = "".join(json.dumps(r) + "\n" for r in parts[2]).encode()
    (shards / "c.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(body))
    with open(shards / "d.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text", "group"])
        writer.writeheader()
        writer.writerows(parts[3])
    pl.DataFrame(parts[4]).write_parquet(shards / "sub" / "e.parquet")
    (shards / "_SUCCESS").write_text("")
    whole = tmp_path / "whole.jsonl"
    whole.write_text("".join(json.dumps(r) + "\n" for r in records))
    rules = _rules(tmp_path, "shards", "steps:" + CLEAN_STEPS)

    clean(whole, tmp_path / "local", rules)
    remote = clean_ray(shards, tmp_path / "ray", rules)

    def ids(lines: Iterator[bytes] | list[bytes]) -> list[str]:
        return [json.loads(line)["id"] for line in lines]

    local = tmp_path / "local"
    assert ids(R.read_shards(tmp_path / "ray", "clean")) == ids(_lines(local / "clean.jsonl"))
    assert (tmp_path / "ray" / "duplicates.jsonl").read_bytes() == (
        local / "duplicates.jsonl"
    ).read_bytes()
    theirs = json.loads((local / "manifest.json").read_text())
    assert remote.manifest["steps"] == theirs["steps"]
    assert [f["path"] for f in remote.manifest["input"]["files"]] == [
        "a.jsonl",
        "b.jsonl.gz",
        "c.jsonl.zst",
        "d.csv",
        "sub/e.parquet",
    ]
    dropped = [json.loads(line) for line in R.read_shards(tmp_path / "ray", "dropped")]
    where = {d["id"]: d["_curate"]["file"] for d in dropped}
    shard_of = {r["id"]: i for i, part in enumerate(parts) for r in part}
    names = [f["path"] for f in remote.manifest["input"]["files"]]
    assert where and all(names[shard_of[i]] == f for i, f in where.items())


def test_audit_on_ray_equals_local(
    cluster: Path, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    rules = _rules(
        tmp_path,
        "audit",
        "collapsed_metrics: true\nsteps:"
        + CLEAN_STEPS
        + "checks:\n  - check: representation\n  - check: outcome_bias\n"
        "    min_group_size: 5\n"
        "gate:\n  - metric: steps.dedupe_near.flagged_rate\n    op: '<='\n    threshold: 0.5\n",
    )
    local = run_audit(data, tmp_path / "local", rules).data
    remote = run_audit_ray(data, tmp_path / "ray", rules).data
    assert remote["metrics"]["steps.dedupe_near.flagged"] > 0
    assert remote["metrics"]["outcome_bias.demographic_parity_difference"] is not None
    assert "collapsed.outcome_bias.demographic_parity_difference" in remote["metrics"]
    assert remote == local  # metrics, details, counts, the digest over all of them


def test_field_aware_dedupe_on_ray_equals_local(cluster: Path, tmp_path: Path) -> None:
    """Dedupe on assistant turns only: Ray's keys phase builds the compared text from the
    blocks' segments as the local engine does from its batches."""
    records = chat_records(6, 600)
    data = write_jsonl(tmp_path / "chats.jsonl", records)
    rules = tmp_path / "chat.yaml"
    rules.write_text(
        "name: chat\nseed: 5\nfields: {chat: messages, id: id}\nread: {batch_size: 80}\n"
        "steps:\n  - step: normalize\n  - step: dedupe_exact\n    roles: [assistant]\n"
        "  - step: dedupe_near\n    roles: [assistant]\n    threshold: 0.8\n"
    )
    clean(data, tmp_path / "local", rules)
    remote = clean_ray(data, tmp_path / "ray", rules)
    _assert_same_clean(tmp_path / "local", tmp_path / "ray")
    steps = {s["id"]: s for s in remote.manifest["steps"]}
    assert steps["dedupe_exact"]["dropped"] == repeated_answers(records)
    assert steps["dedupe_near"]["dropped"] > 0
    assert len(remote.manifest["outputs"]["clean"]["shards"]) > 1  # really several blocks


def test_a_redacting_clean_on_ray_writes_no_record_text_outside_clean(
    cluster: Path, tmp_path: Path
) -> None:
    """Issue 15 item 8 on Ray: with redact_pii, dropped and quarantine shards say where and
    why, never the record as read, as the local engine's files (they were raw on Ray)."""
    lines = [
        json.dumps(
            {"id": str(i), "text": f"write to person{i % 4}@example.com about order {i % 4}"}
        )
        for i in range(40)
    ]
    lines.append('{"id": "cut", "text": "mail me at leak@example.com"')  # malformed
    data = tmp_path / "pii.jsonl"
    data.write_text("\n".join(lines) + "\n")
    rules = _rules(tmp_path, "redact", "steps:\n  - step: redact_pii\n  - step: dedupe_exact\n")
    clean(data, tmp_path / "local", rules)
    clean_ray(data, tmp_path / "ray", rules)
    _assert_same_clean(tmp_path / "local", tmp_path / "ray")
    written = [*R.read_shards(tmp_path / "ray", "dropped")]
    written += [*R.read_shards(tmp_path / "ray", "quarantine")]
    assert len(written) == 37  # 36 duplicates and the malformed line: the test bites
    assert not any(b"example.com" in line for line in written)


def test_retried_tasks_count_once(cluster: Path, data: Path, tmp_path: Path) -> None:
    """Tasks die after writing their shards and state; Ray re-runs them, and the outputs and
    counts are those of a run without failures."""
    rules = _rules(tmp_path, "retry", "steps:" + CLEAN_STEPS)
    clean_ray(data, tmp_path / "calm", rules)
    (cluster / "armed").write_text("2")  # two blocks of each kind of task
    try:
        clean_ray(data, tmp_path / "stormy", rules)
    finally:
        (cluster / "armed").unlink()
    crashed = [p.name.split("-")[0] for p in cluster.iterdir() if p.name != "armed"]
    assert crashed.count("finish") >= 2 and crashed.count("stage") >= 2
    for kind in ("clean", "dropped", "quarantine"):
        assert list(R.read_shards(tmp_path / "stormy", kind)) == list(
            R.read_shards(tmp_path / "calm", kind)
        )
    calm = json.loads((tmp_path / "calm" / "manifest.json").read_text())
    stormy = json.loads((tmp_path / "stormy" / "manifest.json").read_text())
    assert stormy["counts"] == calm["counts"]
    assert stormy["steps"] == calm["steps"]


def test_cli_engine_ray_reports_input_errors(cluster: Path, tmp_path: Path, cli) -> None:
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "a.jsonl").write_text('{"text": "fine"}\n')
    (shards / "b.jsonl.gz").write_bytes(b"not gzip at all")
    code, _, err = cli("clean", shards, "--engine", "ray", "--out", tmp_path / "out")
    assert code == 2
    assert "b.jsonl.gz" in err and "gzip" in err
    assert not (tmp_path / "out" / "manifest.json").exists()
    code, _, err = cli("clean", shards / "a.jsonl", "--address", "auto", "--out", tmp_path / "o")
    assert code == 2 and "--engine ray" in err


def test_global_step_after_upsampling_is_refused(tmp_path: Path, data: Path) -> None:
    rules = _rules(
        tmp_path,
        "order",
        "steps:\n  - step: rebalance\n    column: label\n    mode: upsample\n"
        "  - step: dedupe_exact\n",
    )
    with pytest.raises(RulesError, match="upsample last"):
        clean_ray(data, tmp_path / "out", rules)


@pytest.mark.slow
def test_audit_with_pii_on_ray_equals_local(
    cluster: Path, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    lines = [json.loads(line) for line in data.read_text().splitlines() if line.startswith('{"')]
    for i, record in enumerate(lines[::7]):
        record["text"] += f" mail user{i % 5}@example.com or call 555-0100-{1000 + i}"
    pii_data = tmp_path / "pii.jsonl"
    pii_data.write_text("".join(json.dumps(r) + "\n" for r in lines))
    rules = _rules(
        tmp_path,
        "pii",
        "collapsed_metrics: true\nsteps:" + CLEAN_STEPS + "checks:\n  - check: pii\n",
    )
    local = run_audit(pii_data, tmp_path / "local", rules).data
    remote = run_audit_ray(pii_data, tmp_path / "ray", rules).data
    assert remote["metrics"]["pii.records_with_pii"] > 0
    assert remote == local
    assert (tmp_path / "ray" / "findings.jsonl").read_bytes() == (
        tmp_path / "local" / "findings.jsonl"
    ).read_bytes()


def test_ray_records_the_bytes_its_read_tasks_hashed(cluster: Path, tmp_path: Path) -> None:
    """Issue 15 item 3 on Ray: the sha256 recorded is the one each read task took of the bytes
    it consumed (not of the file reopened afterwards), and a file swapped, rewritten or
    truncated after its read is an error, never an input recorded as read."""
    from curate.errors import InputError
    from curate.rules import build_steps, load_rules

    shards = tmp_path / "shards"
    shards.mkdir()
    records = _records(4, 120)
    (shards / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:60]))
    with gzip.open(shards / "b.jsonl.gz", "wt") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in records[60:]))
    read_bytes = {p.name: p.read_bytes() for p in shards.iterdir()}
    rules = load_rules(_rules(tmp_path, "hashed", "steps:\n  - step: dedupe_exact\n"))
    inputs = R.list_inputs(shards, rules)
    run = R.run_pipeline(
        inputs,
        rules,
        build_steps(rules),
        action=None,
        output=None,
        copies_are_added=True,
    )
    digests = {
        f["path"]: f["sha256"] for f in R.provenance(inputs, rules, run.reads)["input"]["files"]
    }
    assert digests == {name: hashlib.sha256(b).hexdigest() for name, b in read_bytes.items()}

    # Other bytes of the same size under the same mtime and inode: no reopening, so the
    # digest stays that of the bytes the task read.
    a = shards / "a.jsonl"
    stat = a.stat()
    a.write_bytes(read_bytes["a.jsonl"].replace(b'"r', b'"R'))
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    files = R.provenance(inputs, rules, run.reads)["input"]["files"]
    assert files[0]["sha256"] == hashlib.sha256(read_bytes["a.jsonl"]).hexdigest()

    # A truncation after the read, or mv bad.jsonl a.jsonl: an error (exit 2 from the CLI).
    with open(shards / "b.jsonl.gz", "r+b") as handle:
        handle.truncate(10)
    with pytest.raises(InputError, match=r"b\.jsonl\.gz: the input changed during the run"):
        R.provenance(inputs, rules, run.reads)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(read_bytes["a.jsonl"])
    os.replace(bad, a)
    with pytest.raises(InputError, match=r"a\.jsonl: the input changed during the run"):
        R.provenance(inputs, rules, run.reads)


def test_large_files_are_read_in_parts(
    cluster: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JSONL file cut into byte ranges and a Parquet file into row groups (parts forced
    small) give the local engine's outputs, line numbers, clusters, input digest and audit; a
    malformed line across a part boundary is quarantined once, with its line number."""
    from curate.ray_io import PART_BYTES_ENV

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv(PART_BYTES_ENV, "2000")
    records = _records(7, 300)
    lines = _jsonl_lines(records, 8)
    lines.insert(120, '{"id": "long", "text": "' + "x " * 2500)  # spans two parts or more
    data = tmp_path / "big.jsonl"
    data.write_text("\n".join(lines) + "\n")
    pl.DataFrame(records).write_parquet(tmp_path / "big.parquet", row_group_size=40)
    rules = _rules(tmp_path, "parts", "steps:" + CLEAN_STEPS)
    for path in (data, tmp_path / "big.parquet"):
        local, ray_out = tmp_path / f"local-{path.suffix}", tmp_path / f"ray-{path.suffix}"
        clean(path, local, rules)
        remote = clean_ray(path, ray_out, rules)
        _assert_same_clean(local, ray_out)
        units = {s["path"].split("-")[1] for s in remote.manifest["outputs"]["clean"]["shards"]}
        assert len(units) > 2  # really read by several tasks
    quarantined = [
        json.loads(line) for line in R.read_shards(tmp_path / "ray-.jsonl", "quarantine")
    ]
    assert [q["line"] for q in quarantined if "x x x" in q["raw"]] == [121]
    audit_local = run_audit(data, tmp_path / "audit-local", rules).data
    assert run_audit_ray(data, tmp_path / "audit-ray", rules).data == audit_local
