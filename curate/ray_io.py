"""Ray's side of reading: the row layout every block keeps, the session, objects cached per
worker, the inputs (one file, a saved ``datasets`` folder or a folder of shards) and the read
tasks. The steps are in ``curate.engine_ray``, the last pass in ``curate.ray_finish``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from curate import batch as B
from curate import registry
from curate.datasets_folder import saved_dataset_shards
from curate.errors import CurateError, InputError
from curate.inputfile import Fingerprint, ReadRecord, changed_error, check_unchanged
from curate.reader import ReadBatch, detect_format, read_batches
from curate.rules import Rules, provenance_of

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

# -- row layout ------------------------------------------------------------------------------

KIND = "_kind"  # what a row is: one of the five below
# READ: what a read task consumed of one file (its Fingerprint, as JSON in PAYLOAD)
RECORD, QUARANTINED, BLANK_LINES, STATE, READ = 0, 1, 2, 3, 4
FILE = "_file"
POS = "_pos"
PAYLOAD = "_payload"  # a quarantine entry, as written to quarantine.jsonl; a READ's digest
QREASON = "_qreason"
COUNT = "_count"  # blank lines skipped (BLANK_LINES rows)
STATE_BLOB = "_state"  # pickled summary state of the steps that processed a block
BORN = "_born"  # index of the step that made this row (an upsampled copy); -1: read
DROPPED_AT = "_dropped_at"
DROP_REASON, DROP_SCORE, DROP_DUP, DROP_CLUSTER = "_d_reason", "_d_score", "_d_dup", "_d_cluster"
DROP_DETAIL = "_d_detail"
ORDER = "_order"  # row order inside a block while a stage runs

FILE_SHIFT = 40  # lines per file < 2**40, files < 2**23
FATE_SCHEMA: dict[str, pl.DataType] = {
    KIND: pl.Int8(),
    FILE: pl.Int32(),
    POS: pl.Int64(),
    PAYLOAD: pl.String(),
    QREASON: pl.String(),
    COUNT: pl.Int64(),
    STATE_BLOB: pl.Binary(),
    BORN: pl.Int16(),
    DROPPED_AT: pl.Int16(),
    DROP_REASON: pl.String(),
    DROP_SCORE: pl.Float64(),
    DROP_DUP: pl.String(),
    DROP_CLUSTER: pl.String(),
    DROP_DETAIL: pl.String(),
    B.UPSAMPLED: pl.Boolean(),
    B.FLAGS: B.FLAG_DTYPE,
    B.NOTES: B.NOTE_DTYPE,
}
MARKS_OF_DROPPED = {
    B.REASON: DROP_REASON,
    B.SCORE: DROP_SCORE,
    B.DUPLICATE_OF: DROP_DUP,
    B.CLUSTER: DROP_CLUSTER,
    B.DETAIL: DROP_DETAIL,
}
#: for tests only: while the folder this names holds a file ``armed`` (holding a number n),
#: the first n blocks of each kind of map task die once, after their side effects and before
#: returning, so that Ray re-runs them
FAULT_ENV = "CURATE_RAY_FAULT_DIR"
OUTPUT_KINDS = ("clean", "dropped", "quarantine")


class RayEngineError(CurateError):
    """The Ray engine cannot reproduce the local result for this configuration."""


# -- session ---------------------------------------------------------------------------------


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[None]:
    """Connect to ``address`` (an existing cluster, or ``auto``) or start a local Ray.

    A session already open in this process (a test, a notebook) is used as it is and left open.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
        import ray.data
    except ImportError:
        raise RayEngineError(
            "--engine ray needs Ray Data: pip install 'ray[data]' (or curate[ray])"
        ) from None
    started = False
    if not ray.is_initialized():
        # Ray runs one task per CPU: polars in a task gets one thread, not one per core.
        env = {"POLARS_MAX_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
        plugins = registry.plugin_modules()
        if plugins:  # the user's own steps and checks: every worker imports their modules
            env[registry.PLUGINS_ENV] = ",".join(plugins)
            if not address:  # a Ray started here: its workers find them where this process did
                env["PYTHONPATH"] = os.pathsep.join(_module_roots(plugins))
        job = {"env_vars": env}
        if address:
            ray.init(address=address, runtime_env=job, logging_level=logging.WARNING)
        else:
            ray.init(
                address="local",  # a new Ray, even if `ray start` runs a cluster here
                num_cpus=num_cpus,
                runtime_env=job,
                include_dashboard=False,
                logging_level=logging.WARNING,
            )
        started = True
    from ray.data.context import ShuffleStrategy

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # blocks keep the order of _pos
    # Task-based sort shuffle: the hash shuffle's actor pool costs seconds per shuffle to
    # start, which dominates for inputs below tens of GB (see the README's figures).
    context.shuffle_strategy = ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


@contextlib.contextmanager
def surfacing_curate_errors() -> Iterator[None]:
    """A CurateError raised in a task comes out as itself (exit 2 with its one line), not
    wrapped in Ray's exceptions."""
    try:
        yield
    except CurateError:
        raise
    except Exception as exc:
        reraise_curate(exc)
        raise


def _module_roots(modules: Sequence[str]) -> list[str]:
    """The folders to put on a worker's path to import ``modules`` as this process did."""
    import sys

    roots = []
    for name in modules:
        where = getattr(sys.modules.get(name), "__file__", None)
        if where:
            root = Path(where).resolve().parent
            for _ in range(name.count(".")):
                root = root.parent
            roots.append(str(root))
    existing = os.environ.get("PYTHONPATH")
    return list(dict.fromkeys([*roots, *([existing] if existing else [])]))


def partitions() -> int:
    import ray

    return max(2, int(ray.cluster_resources().get("CPU", 2)))


def reraise_curate(exc: BaseException) -> None:
    """Ray wraps an exception raised in a task; surface a CurateError under it as itself."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, CurateError):
            raise current from None
        todo += [current.__cause__, current.__context__, getattr(current, "cause", None)]


def maybe_fail(where: str, key: object) -> None:
    folder = os.environ.get(FAULT_ENV)
    armed = Path(folder) / "armed" if folder else None
    if armed is None or not armed.exists():
        return
    marker = armed.parent / f"{where}-{key}"
    crashed = len(list(armed.parent.glob(f"{where}-*")))
    if not marker.exists() and crashed < int(armed.read_text() or 1):
        marker.touch()
        os._exit(1)  # a worker crash: Ray re-runs the task


_WORKER_CACHE: dict[tuple[Any, ...], Any] = {}


def worker_cached(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """Objects built once per worker process (steps may load models or lexicons)."""
    if key not in _WORKER_CACHE:
        if len(_WORKER_CACHE) > 64:
            _WORKER_CACHE.clear()
        _WORKER_CACHE[key] = build()
    return _WORKER_CACHE[key]


def rules_key(rules: Rules) -> tuple[Any, ...]:
    return (rules.sha256, str(rules.base_dir), rules.seed)


# -- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """The files to read, in the order that defines positions."""

    root: Path
    files: tuple[Path, ...]

    @property
    def single(self) -> bool:
        return len(self.files) == 1 and self.files[0] == self.root

    def label(self, index: int) -> str:
        return str(self.files[index])


def list_inputs(path: str | Path, rules: Rules) -> Inputs:
    """One file, a saved ``datasets`` folder, or a folder of shards (read in path order).

    In a folder, hidden files and names starting with ``_`` (``_SUCCESS``) are skipped, and so
    are files whose format is not recognised.
    """
    from curate.sources import is_saved_dataset

    root = Path(path)
    if not root.exists():
        raise InputError(f"{root}: input file not found")
    if root.is_file() or is_saved_dataset(root):
        return Inputs(root, (root,))
    files = []
    for candidate in sorted(root.rglob("*")):
        parts = candidate.relative_to(root).parts
        if any(p.startswith((".", "_")) for p in parts) or not candidate.is_file():
            continue
        try:
            detect_format(candidate, rules.read.format)
        except InputError:
            continue
        files.append(candidate)
    if not files:
        raise InputError(
            f"{root}: no data files in this folder (.jsonl, .jsonl.gz, .jsonl.zst, .csv, .parquet)"
        )
    if len(files) >= 1 << (63 - FILE_SHIFT):
        raise InputError(f"{root}: too many files ({len(files)})")
    return Inputs(root, tuple(files))


def _paths_of(path: Path) -> list[Path]:
    return saved_dataset_shards(path) if path.is_dir() else [path]


@dataclass(frozen=True)
class TaskRead:
    """What a read task consumed of one input file, and the node it ran on."""

    fingerprint: Fingerprint
    host: str


def read_fingerprints(partials: Sequence[dict[str, Any]], inputs: Inputs) -> list[TaskRead]:
    """Per input file, the fingerprint its read task took of the bytes it consumed (the
    ``reads`` of the last pass's partial counts). A task Ray ran twice reports twice: the
    two must agree, else the file changed between the two reads."""
    seen: dict[int, TaskRead] = {}
    for partial in partials:
        for index, payload in partial["counts"]["reads"]:
            one = orjson.loads(payload)
            stamps = tuple(tuple(s) for s in one["stamps"])
            got = TaskRead(Fingerprint(one["bytes"], one["sha256"], stamps), one["host"])
            if seen.setdefault(index, got).fingerprint.sha256 != got.fingerprint.sha256:
                raise changed_error(inputs.files[index], "two reads gave different bytes")
    missing = [str(inputs.files[i]) for i in range(len(inputs.files)) if i not in seen]
    if missing:
        raise RayEngineError(f"no read was recorded for {', '.join(missing)} (a bug)")
    return [seen[i] for i in range(len(inputs.files))]


def _check_unchanged(path: Path, read: TaskRead) -> None:
    """The file at ``path`` is still the one a task read. Read on another node, (device,
    inode) may differ for the same file on a shared file system: size and mtime are compared."""
    paths = _paths_of(path)
    if read.host == socket.gethostname():
        check_unchanged(paths, read.fingerprint)
        return
    for one, before in zip(paths, read.fingerprint.stamps, strict=True):
        try:
            st = os.stat(one)
        except FileNotFoundError:
            raise changed_error(one, "it was removed") from None
        except OSError as exc:
            raise InputError(f"{one}: cannot read: {exc.strerror}") from None
        if (st.st_size, st.st_mtime_ns) != tuple(before[2:]):
            raise changed_error(one, "it was modified")


def describe_inputs(inputs: Inputs, rules: Rules, reads: Sequence[TaskRead]) -> dict[str, Any]:
    """The ``input`` block of the manifest, from the fingerprints the read tasks took of the
    bytes they consumed (``read_fingerprints``), never from a second pass over the files,
    after checking each path still names the file that was read (else ``InputError``): as
    the local engine's for one file; for shards, each file, and a sha256 over the list of
    (relative path, sha256)."""
    for path, read in zip(inputs.files, reads, strict=True):
        _check_unchanged(path, read)
    fingerprints = [read.fingerprint for read in reads]
    if inputs.single:
        return {
            "path": str(inputs.root),
            "format": detect_format(inputs.root, rules.read.format),
            "bytes": fingerprints[0].bytes,
            "sha256": fingerprints[0].sha256,
        }
    files = [
        {
            "path": str(path.relative_to(inputs.root)),
            "format": detect_format(path, rules.read.format),
            "bytes": read.bytes,
            "sha256": read.sha256,
        }
        for path, read in zip(inputs.files, fingerprints, strict=True)
    ]
    listing = "".join(f"{f['path']}\t{f['sha256']}\n" for f in files)
    return {
        "path": str(inputs.root),
        "format": "shards",
        "bytes": sum(f["bytes"] for f in files),
        "sha256": hashlib.sha256(listing.encode()).hexdigest(),
        "files": files,
    }


def provenance(inputs: Inputs, rules: Rules, reads: Sequence[TaskRead]) -> dict[str, Any]:
    return provenance_of(describe_inputs(inputs, rules, reads), rules)


# -- frames <-> Arrow --------------------------------------------------------------------------


def to_arrow(frame: pl.DataFrame) -> pa.Table:
    # the oldest Arrow layout (large_string, not string_view) that every Ray version reads
    return frame.to_arrow(compat_level=pl.CompatLevel.oldest())


def from_arrow(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame


def first_pos(frame: pl.DataFrame) -> int | None:
    """The first ``_pos`` of a block (None: it holds none), for fault injection and names."""
    positions = frame[POS].drop_nulls()
    return int(positions[0]) if positions.len() else None


def complete_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Every block has every bookkeeping column, typed alike, whatever rows it holds."""
    missing = [pl.lit(None, dtype).alias(c) for c, dtype in FATE_SCHEMA.items() if c not in frame]
    return frame.with_columns(missing) if missing else frame


def _read_frame(read: ReadBatch, file_index: int, source: str) -> pl.DataFrame:
    base = file_index << FILE_SHIFT
    parts = [
        read.frame.with_columns(
            pl.lit(RECORD, pl.Int8).alias(KIND),
            pl.lit(file_index, pl.Int32).alias(FILE),
            (pl.col(B.LINE) + base).alias(POS),
            pl.lit(-1, pl.Int16).alias(BORN),
            pl.lit(False).alias(B.UPSAMPLED),
        )
    ]
    if read.quarantined:
        parts.append(
            pl.DataFrame(
                {
                    KIND: [QUARANTINED] * len(read.quarantined),
                    FILE: [file_index] * len(read.quarantined),
                    B.LINE: [q.line for q in read.quarantined],
                    POS: [base + q.line for q in read.quarantined],
                    PAYLOAD: [orjson.dumps(q.to_json(source)).decode() for q in read.quarantined],
                    QREASON: [q.reason for q in read.quarantined],
                },
                schema={
                    KIND: pl.Int8,
                    FILE: pl.Int32,
                    B.LINE: pl.Int64,
                    POS: pl.Int64,
                    PAYLOAD: pl.String,
                    QREASON: pl.String,
                },
            )
        )
    if read.blank_lines:
        parts.append(
            pl.DataFrame(
                {KIND: [BLANK_LINES], FILE: [file_index], COUNT: [read.blank_lines]},
                schema={KIND: pl.Int8, FILE: pl.Int32, COUNT: pl.Int64},
            )
        )
    return complete_columns(pl.concat(parts, how="diagonal_relaxed"))


def read_files(table: pa.Table, *, rules: Rules, labels: Sequence[str]) -> Iterator[pa.Table]:
    """Ray task: read the files listed in ``table`` into blocks (records, quarantine, blanks),
    then one READ row per file: the fingerprint of the bytes this read consumed, hashed in the
    same pass (``curate.inputfile``); a file changed during the read raises ``InputError``."""
    for file_index, path in zip(table["index"].to_pylist(), table["path"].to_pylist(), strict=True):
        record = ReadRecord()
        for read in read_batches(path, rules, record):
            yield to_arrow(_read_frame(read, file_index, labels[file_index]))
        yield to_arrow(_read_row(file_index, record.fingerprint))


def _read_row(file_index: int, fingerprint: Fingerprint | None) -> pl.DataFrame:
    if fingerprint is None:
        raise RayEngineError(f"the read of file {file_index} recorded no digest (a bug)")
    payload = orjson.dumps(
        {
            "bytes": fingerprint.bytes,
            "sha256": fingerprint.sha256,
            "stamps": fingerprint.stamps,
            "host": socket.gethostname(),
        }
    ).decode()
    row = pl.DataFrame(
        {KIND: [READ], FILE: [file_index], PAYLOAD: [payload]},
        schema={KIND: pl.Int8, FILE: pl.Int32, PAYLOAD: pl.String},
    )
    return complete_columns(row)


def block_reads(frame: pl.DataFrame) -> list[tuple[int, str]]:
    """(file index, fingerprint JSON) of a block's READ rows."""
    reads = frame.filter(pl.col(KIND) == READ)
    return list(zip(reads[FILE].to_list(), reads[PAYLOAD].to_list(), strict=True))


def live_mask(frame: pl.DataFrame) -> pl.Series:
    return (frame[KIND] == RECORD) & frame[DROPPED_AT].is_null()


def read_dataset(inputs: Inputs, rules: Rules) -> ray.data.Dataset:
    import ray.data

    rows = [{"index": i, "path": str(p)} for i, p in enumerate(inputs.files)]
    labels = [inputs.label(i) for i in range(len(inputs.files))]
    read = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        read_files,
        fn_kwargs={"rules": rules, "labels": labels},
        batch_format="pyarrow",
        batch_size=1,
    )
    # Ray merges what a task yields into blocks of up to 128 MB; blocks of read.batch_size
    # records let the steps spread over the cluster even when there are few input files.
    return read.repartition(target_num_rows_per_block=rules.read.batch_size)
