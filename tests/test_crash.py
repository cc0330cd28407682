"""Crash safety: kills, interruptions and ``--resume``.

No output is ever visible under its final name unless complete, a rerun after a kill gives the
bytes an uninterrupted run gives, and a ``--resume`` run continues from its last checkpoint with
the counts, summaries and outputs of a run that was never stopped. The SIGKILL tests run the CLI
in subprocesses and are marked slow; the in-process tests interrupt a run by raising from its
progress callback or from a step.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audit.run import load_audit, run_audit
from curate import batch as B
from curate import registry
from curate.checkpoint import (
    CHECKPOINT_FILE,
    Checkpointer,
    Position,
    resume_folder,
)
from curate.cleaning import OUTPUT_FILES, clean
from curate.outdir import LOCK_NAME, claim
from curate.safepickle import load_data

WORDS = [
    *("river", "stone", "light", "morning", "paper", "garden", "window", "quiet", "orange"),
    *("signal", "market", "winter", "letter", "bridge", "cotton", "silver", "engine"),
    *("forest", "harbor", "ladder", "pocket", "rabbit", "saddle", "timber"),
]
CLEAN_FILES = (*OUTPUT_FILES, "manifest.json")
AUDIT_FILES = ("audit.json", "findings.jsonl", "audit.md", "audit.html", "junit.xml", "audit.sarif")
EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}


def make_jsonl(path: Path, n: int, seed: int, *, label: bool = False) -> Path:
    """Records with exact and near duplicates, over-long texts and malformed lines."""
    rng = random.Random(seed)
    texts: list[str] = []
    lines = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.02:
            lines.append(f'{{"id": "r{i}", "text": "unterminated')
            continue
        if roll < 0.10 and texts:
            text = rng.choice(texts).upper()  # an exact duplicate once lower-cased
        elif roll < 0.16 and texts:
            words = rng.choice(texts).split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            text = " ".join(words)  # a near duplicate
        elif roll < 0.18:
            text = " ".join(rng.choices(WORDS, k=120))  # over max_length
        else:
            text = " ".join(rng.choices(WORDS, k=rng.randint(4, 14))) + f" {i}"
        texts.append(text)
        record: dict[str, Any] = {"id": f"r{i}", "text": text}
        if label:
            record["label"] = rng.choice(["pos", "neg", "neg", "neu"])
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


RULES = """\
version: 1
name: crash
seed: 3
fields: {{text: text, id: id{label}}}
read: {{batch_size: {batch}}}
steps:
{steps}
checks:
  - check: representation
gate:
  - metric: dataset.quarantined_rate
    op: "<="
    threshold: 0.05
"""
PIPELINE = """\
  - step: normalize
  - step: length
    unit: chars
    min_length: 5
    max_length: 400
  - step: dedupe_exact
  - step: dedupe_near
    threshold: 0.7
"""


def write_rules(folder: Path, *, batch: int, steps: str = PIPELINE, label: bool = False) -> Path:
    path = folder / "rules.yaml"
    path.write_text(
        RULES.format(batch=batch, steps=steps, label=", label: label" if label else ""),
        encoding="utf-8",
    )
    return path


def contents(folder: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in names if (folder / n).exists()}


def leftovers(folder: Path) -> list[str]:
    """What a finished run must not leave: temp files, work folders, lock, checkpoint."""
    return sorted(
        p.name
        for p in folder.iterdir()
        if p.name.endswith(".tmp") or p.name.startswith((".work-", ".resume-", LOCK_NAME))
    )


class Stop(Exception):
    """Stands for a crash in the in-process tests."""


def stop_after(chunks: int):
    seen = {"n": 0}

    def progress(_records: int, _bytes: int) -> None:
        seen["n"] += 1
        if seen["n"] > chunks:
            raise Stop

    return progress


# --- in-process: --resume -------------------------------------------------------------------


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_jsonl(tmp_path / "data.jsonl", 1200, seed=1)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    return write_rules(tmp_path, batch=100)


@pytest.mark.parametrize("stops", [[1], [3, 4], [11]], ids=["early", "twice", "last-chunk"])
def test_clean_resumes_after_stops_with_identical_outputs(
    tmp_path: Path, data: Path, rules: Path, stops: list[int]
) -> None:
    ref = clean(data, tmp_path / "ref", rules)
    out = tmp_path / "out"
    done = 0
    for chunks in stops:
        with pytest.raises(Stop):
            clean(data, out, rules, progress=stop_after(chunks), resume=True, checkpoint_every=0)
        done += chunks
        assert not (out / "manifest.json").exists()
    seen = {"chunks": 0}
    result = clean(
        data,
        out,
        rules,
        progress=lambda *_: seen.__setitem__("chunks", seen["chunks"] + 1),
        resume=True,
        checkpoint_every=0,
    )
    assert result.resumed_from is not None and result.resumed_from.chunk == done
    assert seen["chunks"] == 12 - done  # 1200 records / 100: the done chunks are not processed
    assert contents(out, CLEAN_FILES) == contents(ref.out_dir, CLEAN_FILES)
    assert result.manifest["counts"] == ref.manifest["counts"]
    assert leftovers(out) == []


def _wrap_step(monkeypatch: pytest.MonkeyPatch, name: str, fail_on_apply: int | None) -> dict:
    cls = registry.STEPS[name]
    calls = {"fit": 0, "apply": 0}
    fit, apply = cls.fit, cls.apply

    def counting_fit(self: Any, batches: Any) -> None:
        calls["fit"] += 1
        fit(self, batches)

    def failing_apply(self: Any, batch: Any) -> Any:
        calls["apply"] += 1
        if fail_on_apply is not None and calls["apply"] == fail_on_apply:
            raise Stop
        return apply(self, batch)

    monkeypatch.setattr(cls, "fit", counting_fit)
    monkeypatch.setattr(cls, "apply", failing_apply)
    return calls


def test_a_run_stopped_after_its_fit_resumes_without_fitting_again(
    tmp_path: Path, data: Path, rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = clean(data, tmp_path / "ref", rules)
    registry.load_plugins()
    with monkeypatch.context() as patch:
        calls = _wrap_step(patch, "dedupe_near", fail_on_apply=5)
        with pytest.raises(Stop):
            clean(data, tmp_path / "out", rules, resume=True, checkpoint_every=0)
        assert calls == {"fit": 1, "apply": 5}
    with monkeypatch.context() as patch:
        calls = _wrap_step(patch, "dedupe_near", fail_on_apply=None)
        result = clean(data, tmp_path / "out", rules, resume=True, checkpoint_every=0)
        assert calls["fit"] == 0  # the fitted state came from the checkpoint
        assert calls["apply"] == 12 - 4  # one spool file per input chunk; 4 were done
    assert result.resumed_from is not None and result.resumed_from.segment == 1
    assert result.resumed_from.chunk == 4  # spool chunks 0-3 were done, chunk 4 failed
    assert contents(tmp_path / "out", CLEAN_FILES) == contents(ref.out_dir, CLEAN_FILES)


STEP_CONFIGS = {
    "normalize": "  - step: normalize\n",
    "length": "  - step: length\n    min_length: 20\n    max_length: 90\n",
    "dedupe_exact": "  - step: dedupe_exact\n",
    "dedupe_near": "  - step: dedupe_near\n    threshold: 0.7\n",
    "language": "  - step: language\n    allow: [en]\n    min_probability: 0.5\n",
    "quality": "  - step: quality\n",
    "rebalance": "  - step: rebalance\n    column: label\n",
    "decontaminate": "  - step: decontaminate\n    eval_file: eval.jsonl\n    n: 4\n",
    "redact_pii": "  - step: redact_pii\n    mode: pattern\n",
}


def _registered_steps() -> list[str]:
    registry.load_plugins()
    return sorted(registry.STEPS)


@pytest.mark.parametrize("step", _registered_steps())
def test_every_step_resumes_with_identical_outputs(
    tmp_path: Path, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each step's state survives a checkpoint (its data attributes, or its own hooks)."""
    data = make_jsonl(tmp_path / "data.jsonl", 240, seed=7, label=True)
    texts = [json.loads(line)["text"] for line in data.read_text().splitlines()[3:40:4]]
    (tmp_path / "eval.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    config = STEP_CONFIGS.get(step, f"  - step: {step}\n")  # a new step: its defaults
    config = config.replace("\n", "\n    id: under_test\n", 1)  # the pipeline may have it too
    rules = write_rules(tmp_path, batch=40, steps=config + PIPELINE, label=True)
    ref = clean(data, tmp_path / "ref", rules)
    out = tmp_path / "out"
    with pytest.raises(Stop):  # stopped while reading the input
        clean(data, out, rules, progress=stop_after(2), resume=True, checkpoint_every=0)
    with monkeypatch.context() as patch:  # then in the step's own third call (a fit step's
        _wrap_step(patch, step, fail_on_apply=3)  # after its fit: its fitted state is saved)
        with pytest.raises(Stop):
            clean(data, out, rules, resume=True, checkpoint_every=0)
    result = clean(data, out, rules, resume=True, checkpoint_every=0)
    assert result.resumed_from is not None and result.resumed_from > Position(0, 2)
    if registry.STEPS[step].needs_fit:
        assert result.resumed_from.segment >= 1
    assert contents(out, CLEAN_FILES) == contents(ref.out_dir, CLEAN_FILES)


def test_audit_resumes_with_identical_reports(
    tmp_path: Path, data: Path, rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH["SOURCE_DATE_EPOCH"])
    text = rules.read_text().replace(
        "  - check: representation\n",
        "  - check: representation\n  - check: pii\n    mode: pattern\n",
    )
    rules.write_text(text)
    lines = data.read_text().splitlines()
    for i in range(5, len(lines), 97):  # findings to write, in several chunks
        lines[i] = json.dumps({"id": f"p{i}", "text": f"mail me at someone{i}@example.com"})
    data.write_text("\n".join(lines) + "\n")
    ref = run_audit(data, tmp_path / "ref", rules)
    out = tmp_path / "out"
    with pytest.raises(Stop):
        run_audit(data, out, rules, progress=stop_after(5), resume=True, checkpoint_every=0)
    assert not (out / "audit.json").exists()
    result = run_audit(data, out, rules, resume=True, checkpoint_every=0)
    assert result.resumed_from is not None and result.resumed_from.chunk == 5
    assert contents(out, AUDIT_FILES) == contents(ref.report_dir, AUDIT_FILES)
    assert len(contents(out, AUDIT_FILES)) == len(AUDIT_FILES)
    assert result.data["metrics"]["pii.records_with_pii"] >= 10
    assert leftovers(out) == []


def test_a_checkpoint_of_other_input_is_not_used(tmp_path: Path, rules: Path) -> None:
    first = make_jsonl(tmp_path / "a.jsonl", 1200, seed=1)
    with pytest.raises(Stop):
        clean(first, tmp_path / "out", rules, progress=stop_after(6), resume=True)
    make_jsonl(first, 1200, seed=2)  # the file changed before the rerun
    ref = clean(first, tmp_path / "ref", rules)
    result = clean(first, tmp_path / "out", rules, resume=True)
    assert result.resumed_from is None
    assert contents(tmp_path / "out", CLEAN_FILES) == contents(ref.out_dir, CLEAN_FILES)


def test_a_short_part_file_makes_the_run_start_over(
    tmp_path: Path, data: Path, rules: Path
) -> None:
    ref = clean(data, tmp_path / "ref", rules)
    out = tmp_path / "out"
    with pytest.raises(Stop):
        clean(data, out, rules, progress=stop_after(6), resume=True, checkpoint_every=0)
    part = resume_folder(out, "clean") / "dropped.jsonl.part"  # clean lines come after the fit
    assert part.stat().st_size > 10
    part.write_bytes(part.read_bytes()[:10])
    result = clean(data, out, rules, resume=True, checkpoint_every=0)
    assert result.resumed_from is None
    assert contents(out, CLEAN_FILES) == contents(ref.out_dir, CLEAN_FILES)


class _Planted:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


def test_a_tampered_checkpoint_cannot_run_code(tmp_path: Path, data: Path, rules: Path) -> None:
    ref = clean(data, tmp_path / "ref", rules)
    out = tmp_path / "out"
    with pytest.raises(Stop):
        clean(data, out, rules, progress=stop_after(6), resume=True, checkpoint_every=0)
    path = resume_folder(out, "clean") / CHECKPOINT_FILE
    saved = load_data(path.read_bytes())
    marker = tmp_path / "pwned"
    saved["state"]["ledger"] = ("attrs", {"records": _Planted(marker)})
    path.write_bytes(pickle.dumps(saved))
    result = clean(data, out, rules, resume=True, checkpoint_every=0)
    assert not marker.exists()
    assert result.resumed_from is None  # refused, so the run started over
    assert contents(out, CLEAN_FILES) == contents(ref.out_dir, CLEAN_FILES)


class Held:
    """A value kept across batches (a list, a dict), as something ``Checkpointer.track`` takes."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def saved_state(self) -> Any:
        return self.value

    def restore_state(self, state: Any) -> None:
        self.value = state


def test_state_is_what_objects_declare_and_survives_the_safe_unpickler(tmp_path: Path) -> None:
    """A checkpoint keeps each tracked object's ``saved_state`` (its totals), nothing else."""
    registry.load_plugins()
    params = registry.STEPS["length"].Params(unit="chars")
    step = registry.STEPS["length"](params)
    step.apply(B.from_texts(["a", "bbbbbb", "cc"]))
    checkpoint = Checkpointer(tmp_path / "ckpt", {"k": 1}, every=0)
    checkpoint.track("step:length", step)
    checkpoint.track("seen", Held(Counter(x=2)))
    checkpoint.boundary(0, 1, force=True)
    again = Checkpointer(tmp_path / "ckpt", {"k": 1}, every=0)
    fresh, held = registry.STEPS["length"](params), Held(None)
    again.track("step:length", fresh)
    again.track("seen", held)
    assert fresh.summary() == step.summary() == {"unit": "chars", "min": 1, "max": 6, "mean": 3.0}
    assert held.value == Counter(x=2)


def test_state_that_cannot_be_saved_fails_naming_its_owner(tmp_path: Path) -> None:
    checkpoint = Checkpointer(tmp_path / "ckpt", {"k": 1}, every=0)
    checkpoint.track("step:odd", Held([*range(100), threading.Lock()]))
    with pytest.raises(RuntimeError, match="the state of step:odd"):
        checkpoint.boundary(0, 1)


# --- in-process: final names ----------------------------------------------------------------


def test_a_crash_before_the_manifest_leaves_no_stale_manifest(
    tmp_path: Path, rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """manifest.json marks a complete run: never an old one next to new outputs."""
    out = tmp_path / "out"
    clean(make_jsonl(tmp_path / "a.jsonl", 300, seed=1), out, rules)
    old_manifest = json.loads((out / "manifest.json").read_text())

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise Stop

    monkeypatch.setattr("curate.cleaning.write_json", crash)
    with pytest.raises(Stop):
        clean(make_jsonl(tmp_path / "b.jsonl", 300, seed=2), out, rules)
    # The new outputs are in place; the old manifest, which no longer describes them, is gone.
    assert (out / "clean.jsonl").read_bytes() != b"" and not (out / "manifest.json").exists()
    assert old_manifest["outputs"]["clean.jsonl"]["sha256"] != sha256(out / "clean.jsonl")


def test_a_crash_before_audit_json_leaves_no_stale_audit(
    tmp_path: Path, rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rep = tmp_path / "rep"
    run_audit(make_jsonl(tmp_path / "a.jsonl", 300, seed=1), rep, rules)

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise Stop

    monkeypatch.setattr("audit.run.write_json", crash)
    with pytest.raises(Stop):
        run_audit(make_jsonl(tmp_path / "b.jsonl", 300, seed=2), rep, rules)
    assert not (rep / "audit.json").exists()


def test_a_second_run_into_a_held_folder_is_refused(
    tmp_path: Path, data: Path, rules: Path, cli
) -> None:
    out = tmp_path / "out"
    with claim(out):
        code, _, err = cli("clean", data, "--rules", rules, "--out", out)
        assert code == 2
        assert err.strip().splitlines() == [
            f"curate: error: {out}: another curate run is writing into this folder "
            "(use another output folder, or wait for it to finish)"
        ]
        assert cli("audit", data, "--rules", rules, "--report", out)[0] == 2
    assert cli("clean", data, "--rules", rules, "--out", out)[0] == 0
    assert leftovers(out) == []


def test_what_killed_runs_left_is_swept_and_nothing_else(
    tmp_path: Path, data: Path, rules: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = [".clean.jsonl.k2j4_9xq.tmp", ".manifest.json.abcdefgh.tmp", ".work-0a1b2c3d"]
    kept = ["notes.txt", ".hidden.tmp", ".work-mine", "x.tmp", ".notes.txt.abcdefgh.tmp"]
    for name in stale[:2] + kept:
        (out / name).write_text("x")
    (out / stale[2]).mkdir()
    (out / stale[2] / ".spool-dedupe_near-12345678").mkdir()
    clean(data, out, rules)
    names = {p.name for p in out.iterdir()}
    assert not names & set(stale)
    assert names >= set(kept) | set(CLEAN_FILES)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- subprocesses and SIGKILL ---------------------------------------------------------------


def _command(kind: str, data: Path, rules: Path, out: Path, *extra: str) -> list[str]:
    flag = "--out" if kind == "clean" else "--report"
    return [sys.executable, "-m", "curate.cli", kind, str(data), "--rules", str(rules), flag,
            str(out), "-q", *extra]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, **EPOCH}


def _run(kind: str, data: Path, rules: Path, out: Path, *extra: str) -> tuple[float, str]:
    start = time.monotonic()
    done = subprocess.run(
        _command(kind, data, rules, out, *extra), env=_env(), capture_output=True, text=True
    )
    assert done.returncode in (0, 1), done.stderr
    return time.monotonic() - start, done.stderr


def _kill_after(cmd: list[str], delay: float) -> tuple[bool, str]:
    """Start ``cmd``, SIGKILL it after ``delay`` seconds; (whether it was killed, stderr)."""
    proc = subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        _, err = proc.communicate(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
    killed = proc.returncode == -signal.SIGKILL
    assert killed or proc.returncode in (0, 1), err
    return killed, err


def _assert_only_complete_files(kind: str, out: Path, refs: list[dict[str, bytes]]) -> None:
    """Every file under a final name is a complete output of some run, consistent with the
    mark of completeness (manifest.json / audit.json) if that is there."""
    names = CLEAN_FILES if kind == "clean" else AUDIT_FILES
    for name, blob in contents(out, names).items():
        assert any(ref[name] == blob for ref in refs), f"{name} is not a complete output"
    if kind == "clean" and (out / "manifest.json").exists():
        manifest = json.loads((out / "manifest.json").read_text())
        for name, meta in manifest["outputs"].items():
            assert sha256(out / name) == meta["sha256"], f"{name} does not match the manifest"
        counts = manifest["counts"]
        assert counts["records"] == counts["kept"] + counts["dropped"] + counts["quarantined"]
        assert len((out / "clean.jsonl").read_bytes().splitlines()) == counts["written"]
    if kind == "audit" and (out / "audit.json").exists():
        audit = load_audit(out, verify=True)
        findings = audit["outputs"]["findings.jsonl"]
        assert sha256(out / "findings.jsonl") == findings["sha256"]
        # the reports next to it were rendered from it, not left by an older run
        same = [ref for ref in refs if ref["audit.json"] == (out / "audit.json").read_bytes()]
        assert same and contents(out, AUDIT_FILES) == same[0]


@pytest.fixture(scope="module")
def crash_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("crash")
    return {
        "a": make_jsonl(folder / "a.jsonl", 8000, seed=11),
        "b": make_jsonl(folder / "b.jsonl", 8000, seed=12),
        "rules": write_rules(folder, batch=300),
        "folder": folder,
    }


_REFERENCES: dict[tuple[Path, str], tuple[dict[str, dict[str, bytes]], float]] = {}


def _references(kind: str, inputs: dict[str, Path]) -> tuple[dict[str, dict[str, bytes]], float]:
    """The outputs of uninterrupted runs on A and B, and the shorter run's seconds."""
    if (inputs["folder"], kind) not in _REFERENCES:
        names = CLEAN_FILES if kind == "clean" else AUDIT_FILES
        refs, took = {}, []
        for key in ("a", "b"):
            out = inputs["folder"] / f"ref-{kind}-{key}"
            took.append(_run(kind, inputs[key], inputs["rules"], out)[0])
            refs[key] = contents(out, names)
            assert len(refs[key]) == len(names)
        _REFERENCES[inputs["folder"], kind] = (refs, min(took))
    return _REFERENCES[inputs["folder"], kind]


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "kills"), [("clean", 12), ("audit", 10)])
def test_sigkill_at_random_moments_never_shows_a_partial_file(
    crash_inputs: dict[str, Path], kind: str, kills: int
) -> None:
    refs, took = _references(kind, crash_inputs)
    names = CLEAN_FILES if kind == "clean" else AUDIT_FILES
    rng = random.Random(20 + kills)
    out = crash_inputs["folder"] / f"killed-{kind}"
    _run(kind, crash_inputs["b"], crash_inputs["rules"], out)  # start from B's complete outputs
    killed = attempts = 0
    while killed < kills and attempts < 2 * kills:  # a run may end before its kill: not counted
        attempts += 1
        key = "ab"[attempts % 2]  # alternate inputs: a stale file of the other run would show
        cmd = _command(kind, crash_inputs[key], crash_inputs["rules"], out)
        killed += _kill_after(cmd, rng.uniform(0.05, 0.9 * took))[0]
        _assert_only_complete_files(kind, out, list(refs.values()))
        if attempts % 3 == 0 or killed == kills:  # a rerun after some kills, kills after kills
            _run(kind, crash_inputs[key], crash_inputs["rules"], out)
            assert contents(out, names) == refs[key], f"the rerun after attempt {attempts} differs"
            assert leftovers(out) == []
    assert killed == kills, f"only {killed} of {attempts} runs were still running when killed"


def _checkpoint_position(out: Path, kind: str) -> tuple[int, int]:
    path = resume_folder(out, kind) / CHECKPOINT_FILE
    if not path.exists():
        return (0, 0)
    position = load_data(path.read_bytes())["position"]
    return (position["segment"], position["chunk"])


def _kill_after_a_checkpoint(cmd: list[str], checkpoint: Path, delay: float) -> tuple[bool, str]:
    """Start ``cmd``; SIGKILL it ``delay`` seconds after it has written a checkpoint (so every
    kill lands mid-run, after some progress, whatever the machine's speed)."""
    before = checkpoint.stat().st_mtime_ns if checkpoint.exists() else None
    proc = subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    while proc.poll() is None:
        if checkpoint.exists() and checkpoint.stat().st_mtime_ns != before:
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    _, err = proc.communicate()
    killed = proc.returncode == -signal.SIGKILL
    assert killed or proc.returncode in (0, 1), err
    return killed, err


def _kill_resume_loop(kind: str, inputs: dict[str, Path], seed: int) -> Iterator[str]:
    """Kill ``--resume`` runs until one completes; yield "killed" per kill, then its stderr."""
    out = inputs["folder"] / f"resumed-{kind}"
    cmd = _command(kind, inputs["a"], inputs["rules"], out, "--resume", "--checkpoint-every", "0")
    cmd.remove("-q")  # the note "resumed from a checkpoint" is on stderr
    checkpoint = resume_folder(out, kind) / CHECKPOINT_FILE
    rng = random.Random(seed)
    last = (0, 0)
    for _ in range(4):
        killed, err = _kill_after_a_checkpoint(cmd, checkpoint, rng.uniform(0.0, 0.4))
        if not killed:
            yield err
            return
        assert not (out / ("manifest.json" if kind == "clean" else "audit.json")).exists()
        position = _checkpoint_position(out, kind)
        assert position > last  # each run got further, and a checkpoint never goes back
        last = position
        yield "killed"
    killed, err = _kill_after(cmd, 600)
    yield err


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["clean", "audit"])
def test_sigkill_with_resume_continues_to_identical_outputs(
    crash_inputs: dict[str, Path], kind: str
) -> None:
    refs, _ = _references(kind, crash_inputs)
    names = CLEAN_FILES if kind == "clean" else AUDIT_FILES
    out = crash_inputs["folder"] / f"resumed-{kind}"
    events = list(_kill_resume_loop(kind, crash_inputs, seed=5))
    # On a loaded machine a run may outpace a kill; one kill after a checkpoint is enough.
    assert events.count("killed") >= 1
    assert "resumed from a checkpoint" in events[-1]
    assert contents(out, names) == refs["a"]
    assert leftovers(out) == []
    if kind == "clean":
        counts = json.loads((out / "manifest.json").read_text())["counts"]
        assert counts["records"] == counts["kept"] + counts["dropped"] + counts["quarantined"]


def test_shard_folders_replace_an_older_run_despite_a_killed_tasks_temp_file(
    tmp_path: Path,
) -> None:
    """A Ray task killed while writing its shard leaves ``.part-….jsonl.XXXXXXXX.tmp`` in the
    work folder (Ray runs the task again); the shards went into the output folder with it and
    the next run refused to replace them ("holds other files than output shards")."""
    from curate.errors import InputError
    from curate.outdir import replace_dir

    old, new = tmp_path / "out" / "clean", tmp_path / "work" / "clean"
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    (old / "part-00001.jsonl").write_text("old\n")
    (old / ".part-00002.jsonl.k3j_x9aq.tmp").write_text("half a shard\n")
    (new / "part-00001.jsonl").write_text("new\n")
    (new / ".part-00001.jsonl.ab12cd34.tmp").write_text("killed task\n")
    replace_dir(new, old)
    assert sorted(p.name for p in old.iterdir()) == ["part-00001.jsonl"]
    assert (old / "part-00001.jsonl").read_text() == "new\n"
    # a file curate did not write is still never deleted
    other = tmp_path / "work2" / "clean"
    other.mkdir(parents=True)
    (old / "notes.txt").write_text("mine\n")
    with pytest.raises(InputError, match="other files than output shards"):
        replace_dir(other, old)
    assert (old / "notes.txt").exists()
