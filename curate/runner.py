"""The one flow on this machine: read -> steps -> kept records into a sink, every record counted.

``curate clean`` and ``curate audit`` are this run with different sinks (clean writes the
records, audit measures them) and different step actions (an audit only flags). The engine
choices are the caller's: worker processes for the per-record work (``curate.parallel``), and
``--resume`` checkpoints (``curate.checkpoint``); the steps, the sink and the counts are the
same whichever runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from curate.checkpoint import Checkpointer
from curate.errors import CurateError, InputError
from curate.ledger import Ledger
from curate.parallel import ParallelRunner
from curate.pipeline import Sink, StepRunner, chain
from curate.progress import start_phase
from curate.reader import ReadBatch
from curate.registry import Check, Step
from curate.rules import Rules, StepSpec, build_steps
from curate.sources import Source
from curate.writer import with_text_in_raw

Progress = Callable[[int, int], None]


def check_engine(engine: str, *, resume: bool, workers: int | None) -> None:
    """Refuse engine options that mean nothing together. Those of ``clean`` and ``run_audit``:
    with ``resume`` (a file input only) a run checkpoints every ``checkpoint_every`` seconds
    and continues from the last checkpoint a killed run left (``curate.checkpoint``);
    ``workers`` processes (default: one per core; 1 with ``resume``) share the per-record work;
    ``engine="ray"`` runs on a Ray cluster (``address``; default: one started here with
    ``num_cpus``). The results do not depend on the engine or the number of workers."""
    if engine not in ("local", "ray"):
        raise CurateError(f"engine must be 'local' or 'ray', not {engine!r}")
    if engine == "ray" and resume:
        raise CurateError("--resume is for --engine local (Ray re-runs failed tasks itself)")
    if engine == "ray" and workers:
        raise CurateError("--workers is for --engine local (Ray schedules its own workers)")


def count_read(ledger: Ledger, read: ReadBatch) -> None:
    ledger.records += read.frame.height + len(read.quarantined)
    ledger.quarantined += len(read.quarantined)
    ledger.blank_lines += read.blank_lines
    for q in read.quarantined:
        ledger.quarantine_reasons[q.reason] += 1


def require_records(ledger: Ledger, input_path: str | Path) -> None:
    if ledger.records == 0:
        raise InputError(f"{input_path}: no records (the input is empty or only blank lines)")


def finish_ledger(
    ledger: Ledger, steps: list[tuple[StepSpec, Step[Any]]], input_path: str | Path
) -> None:
    """The end of a run (either engine): records were read, each step's summary, the counts
    add up."""
    require_records(ledger, input_path)
    for spec, step in steps:
        ledger.steps[spec.id].summary = step.summary()
    ledger.check()


def run_local(
    data: Source,
    rules: Rules,
    sink: Sink,
    ckpt: Checkpointer,
    *,
    action: str | None = None,
    scans: list[Check] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    copies_are_added: bool = True,
) -> tuple[Ledger, list[tuple[StepSpec, Step[Any]]]]:
    """Run the rules' steps over ``data`` into ``sink``; the checked ledger and the steps.

    ``ckpt`` holds the spools and, with ``--resume``, saves and restores the run's state;
    ``action`` overrides every step's (an audit flags); ``scans`` are checks whose per-record
    scans worker processes may make; with ``copies_are_added`` upsampled copies count as
    added records (a clean writes them), else as kept ones.
    """
    ledger = Ledger()
    steps = build_steps(rules)
    runners = [StepRunner(spec, step, ledger, sink.dropped, action) for spec, step in steps]
    ckpt.track("ledger", ledger)
    for runner in runners:
        runner.count = ledger.steps[runner.spec.id]  # restored with the ledger
        ckpt.track(f"step:{runner.spec.id}", runner.step)
    ckpt.track("sink", sink)

    def frames() -> Iterator[pl.DataFrame]:
        done = 0
        for read in ckpt.reads(data.read(rules)):
            count_read(ledger, read)
            sink.quarantined([q.to_json(data.label) for q in read.quarantined])
            done += read.bytes_read
            if progress:
                progress(read.frame.height + len(read.quarantined), done)
            yield read.frame
        start_phase(progress, "whole-dataset steps (dedup) and checks")

    resumable = ckpt.key is not None
    head = ParallelRunner(rules, runners, scans or [], workers, resumable, data, action)
    # A run that redacts keeps no raw text on disk while it works: its spools hold the
    # records with their redacted texts (``_raw`` rewritten), not as read.
    redacts = any(step.redacts for _, step in steps)
    scrub = with_text_in_raw if redacts and action != "flag" else None
    for frame in chain(head(frames()), runners[len(head.runners) :], ckpt, scrub):
        ledger.count_out(frame, copies_are_added=copies_are_added)
        sink.kept(frame)
    finish_ledger(ledger, steps, data.label)
    return ledger, steps
