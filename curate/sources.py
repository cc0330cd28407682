"""Inputs besides a data file: a saved Hugging Face ``datasets`` folder and in-memory tables.

Accepted: a path (a JSONL/CSV/Parquet file or a ``Dataset.save_to_disk`` folder), a
``datasets.Dataset`` or ``IterableDataset``, a polars ``DataFrame`` or ``LazyFrame``, a pandas
``DataFrame``, a pyarrow ``Table``, or any iterable of dicts. Whatever the input, its rows go
through the same ``Extractor`` as JSONL records, and row n (counted from 1) stands where line n
would: quarantine entries, findings, dropped records and the ledger read the same way.

Identity, for provenance: a row's ``_raw`` is the row as JSON, and an in-memory input's sha256
is that of those JSON lines, each ending in a newline, i.e. the digest of the JSONL file the rows
would be exported to with curate's serialisation. A saved ``datasets`` folder is identified by
its Arrow shards, hashed in the order its ``state.json`` lists them.

On Ray an input may also be a folder of shards (``list_inputs``), read by tasks that take the
fingerprints of what they read (``TaskRead``), from which ``provenance`` makes the manifest's
input block.

Neither ``datasets``, pandas nor pyarrow is imported here: objects are recognised by their
type's module, so curate keeps working (and reads saved folders, through polars) without them.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from curate.datasets_folder import (
    DATASET_DICT_FILE,
    STATE_FILE,
    is_saved_dataset,
    saved_dataset_shards,
)
from curate.errors import InputError
from curate.inputfile import Fingerprint, ReadRecord, check_unchanged
from curate.reader import check_stamp, detect_format, file_fingerprint, read_batches
from curate.records import Extractor
from curate.rowbuilder import BatchBuilder, ReadBatch, RowDigest, dumps_row, fill
from curate.rules import Rules, provenance_of

__all__ = [
    "FileSource",
    "Inputs",
    "RowSource",
    "Source",
    "TaskRead",
    "input_bytes",
    "is_saved_dataset",
    "list_inputs",
    "open_source",
    "provenance",
]

Rows = Iterable[Any]


class Source(Protocol):
    """Where records come from: what ``clean`` and ``audit`` read and record as their input."""

    @property
    def label(self) -> str:
        """Names the input in messages and in provenance (``input.path``)."""
        ...

    def read(self, rules: Rules) -> Iterator[ReadBatch]:
        """Yield batches of valid records and quarantined ones, as ``read_batches`` does."""
        ...

    def describe(self, rules: Rules) -> dict[str, Any]:
        """The ``input`` block of a manifest or audit: path, format, bytes, sha256."""
        ...


# --- sources ------------------------------------------------------------------------------


class FileSource:
    """A JSONL, CSV or Parquet file, or a saved ``datasets`` folder.

    ``describe`` after a read reports the sha256 of the bytes that read consumed (taken in the
    same pass), after checking the path still names that unchanged file; before any read it
    hashes the file in a pass of its own (a checkpoint key), and a later read must then find
    the same bytes. Either way a file that changes during the run raises ``InputError``.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._read = ReadRecord()
        self._before: Fingerprint | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FileSource) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r})"

    @property
    def label(self) -> str:
        return str(self.path)

    def read(self, rules: Rules) -> Iterator[ReadBatch]:
        self._read = ReadRecord()
        return read_batches(self.path, rules, self._read)

    def _paths(self) -> list[Path]:
        return saved_dataset_shards(self.path) if self.path.is_dir() else [self.path]

    def fingerprint(self) -> Fingerprint:
        """What the last complete read consumed (else the file as it is now)."""
        read = self._read.fingerprint
        if read is None:
            if self._before is None:
                self._before = file_fingerprint(self.path)
            return self._before
        check_unchanged(self._paths(), read)
        if self._before is not None and self._before.sha256 != read.sha256:
            raise InputError(
                f"{self.path}: the input changed during the run (its sha256 when the run "
                "started differs from the bytes read)"
            )
        return read

    def describe(self, rules: Rules) -> dict[str, Any]:
        fingerprint = self.fingerprint()
        return {
            "path": str(self.path),
            "format": detect_format(self.path, rules.read.format),
            "bytes": fingerprint.bytes,
            "sha256": fingerprint.sha256,
        }


class RowSource:
    """Rows from memory, produced in chunks by ``chunks(batch_size)``.

    The input is read once by ``read``; ``describe`` reports what that read saw (or, if called
    first, reads the rows once more for the digest only, which a one-shot iterator cannot do).
    """

    def __init__(self, chunks: Callable[[int], Iterable[list[Any]]], label: str, fmt: str):
        self._chunks = chunks
        self._label = label
        self.format = fmt
        self._seen: RowDigest | None = None

    @property
    def label(self) -> str:
        return self._label

    def read(self, rules: Rules) -> Iterator[ReadBatch]:
        builder = BatchBuilder(
            Extractor(
                rules.fields, rules.required_columns(), lenient_chat=rules.structure_checked()
            ),
            rules.fields.join,
        )
        digest = RowDigest()
        size = rules.read.batch_size
        yield from fill(builder, self._chunks(size), size, digest)
        self._seen = digest

    def describe(self, rules: Rules) -> dict[str, Any]:
        if self._seen is None:
            digest = RowDigest()
            for chunk in self._chunks(rules.read.batch_size):
                for record in chunk:
                    try:
                        digest.add(dumps_row(record))
                    except TypeError:
                        continue  # quarantined by the read (a lone surrogate)
            self._seen = digest
        return {
            "path": self._label,
            "format": self.format,
            "bytes": self._seen.bytes,
            "sha256": self._seen.sha256.hexdigest(),
        }


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def _hf_dataset_chunks(dataset: Any) -> Callable[[int], Iterable[list[Any]]]:
    # Without a format, rows come back as plain Python values (not tensors or numpy arrays);
    # iter() follows the indices mapping, so a shuffled or selected dataset reads in its order.
    plain = dataset.with_format(None)

    def chunks(size: int) -> Iterator[list[Any]]:
        for columns in plain.iter(batch_size=size):
            names = list(columns)
            rows = zip(*columns.values(), strict=True)
            yield [dict(zip(names, values, strict=True)) for values in rows]

    return chunks


def _polars_chunks(frame: pl.DataFrame | pl.LazyFrame) -> Callable[[int], Iterable[list[Any]]]:
    def chunks(size: int) -> Iterator[list[Any]]:
        if isinstance(frame, pl.LazyFrame):
            for part in frame.collect_batches(chunk_size=size):
                yield part.to_dicts()
        else:
            for part in frame.iter_slices(size):
                yield part.to_dicts()

    return chunks


def _plain(value: Any) -> Any:
    """A pandas cell as a plain Python value: missing -> None, numpy -> list or scalar."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if value != value else value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if _module(value) == "numpy":
        return _plain(value.tolist())
    if _module(value) == "pandas" and type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


def _pandas_chunks(frame: Any) -> Callable[[int], Iterable[list[Any]]]:
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise InputError("pandas DataFrame: column names repeat")

    def chunks(size: int) -> Iterator[list[Any]]:
        for start in range(0, len(frame), size):
            part = frame.iloc[start : start + size]
            columns = [[_plain(v) for v in part[c].tolist()] for c in part.columns]
            yield [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]

    return chunks


def _arrow_chunks(table: Any) -> Callable[[int], Iterable[list[Any]]]:
    def chunks(size: int) -> Iterator[list[Any]]:
        for batch in table.to_batches(max_chunksize=size):
            yield batch.to_pylist()

    return chunks


def _iterable_chunks(rows: Rows) -> Callable[[int], Iterable[list[Any]]]:
    def chunks(size: int) -> Iterator[list[Any]]:
        chunk: list[Any] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    return chunks


def open_source(data: Any, *, name: str | None = None) -> Source:
    """Turn what the user passed to ``clean`` or ``audit`` into a ``Source``.

    ``name`` labels an in-memory input in messages and reports (default: its type, e.g.
    ``<pandas.DataFrame>``); a path is always labelled by itself.
    """
    if isinstance(data, (FileSource, RowSource)):
        return data
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise InputError(f"{path}: input file not found")
        if path.is_dir() and not is_saved_dataset(path):
            raise InputError(
                f"{path}: a folder, but not a saved Hugging Face dataset "
                f"(no {STATE_FILE} or {DATASET_DICT_FILE})"
            )
        if path.is_dir():
            saved_dataset_shards(path)  # fail now, with the reason, on a DatasetDict
        return FileSource(path)
    kind = type(data).__name__
    label = name or f"<{_module(data)}.{kind}>"
    module = _module(data)
    if module == "datasets":
        if kind in ("DatasetDict", "IterableDatasetDict"):
            raise InputError(
                f"{label}: a {kind} with splits {', '.join(map(str, data))}; pass one split, "
                f"e.g. data[{next(iter(data), 'train')!r}]"
            )
        if kind == "Dataset":
            return RowSource(_hf_dataset_chunks(data), label, "datasets")
        if kind == "IterableDataset":
            return RowSource(_iterable_chunks(data), label, "datasets")
    if isinstance(data, (pl.DataFrame, pl.LazyFrame)):
        return RowSource(_polars_chunks(data), label, "polars")
    if module == "pandas" and kind == "DataFrame":
        return RowSource(_pandas_chunks(data), label, "pandas")
    if module == "pyarrow" and kind == "Table":
        return RowSource(_arrow_chunks(data), label, "arrow")
    if isinstance(data, Mapping):
        raise InputError(f"{label}: one record; pass a list of records")
    if isinstance(data, Iterable) and not isinstance(data, (bytes, bytearray)):
        return RowSource(_iterable_chunks(data), name or "<records>", "records")
    raise InputError(
        f"{label}: cannot read records from a {kind}: pass a file path, a saved datasets "
        "folder, a datasets.Dataset, a polars or pandas DataFrame, a pyarrow Table, or a "
        "list of dicts"
    )


def input_bytes(source: object) -> int | None:
    """Bytes on disk of a file or folder input; None for records in memory."""
    path = getattr(source, "path", None)
    if not isinstance(path, Path):
        return None
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return None


# -- a folder of shards (read by Ray's tasks) -------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    """The files to read, in the order that defines positions."""

    root: Path
    files: tuple[Path, ...]

    @property
    def single(self) -> bool:
        return len(self.files) == 1 and self.files[0] == self.root


def list_inputs(path: str | Path, rules: Rules) -> Inputs:
    """One file, a saved ``datasets`` folder, or a folder of shards (read in path order).

    In a folder, hidden files and names starting with ``_`` (``_SUCCESS``) are skipped, and so
    are files whose format is not recognised.
    """
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
    return Inputs(root, tuple(files))


@dataclass(frozen=True)
class TaskRead:
    """What a read task consumed of one input file, and the node it ran on."""

    fingerprint: Fingerprint
    host: str


def provenance(inputs: Inputs, rules: Rules, reads: Sequence[TaskRead]) -> dict[str, Any]:
    """The rules and the ``input`` block of the manifest, from the fingerprints the read tasks
    (or the scan of a file read in parts) took of the bytes they consumed, never from a later
    pass, after checking each path still names the file that was read (else ``InputError``):
    as the local engine's for one file; for shards, each file, and a sha256 over the list of
    (relative path, sha256)."""
    files = []
    for path, read in zip(inputs.files, reads, strict=True):
        # Read on another node, (device, inode) may differ for the same file on a shared file
        # system: there size and mtime are compared.
        paths = saved_dataset_shards(path) if path.is_dir() else [path]
        if read.host == socket.gethostname():
            check_unchanged(paths, read.fingerprint)
        for one, stamp in zip(paths, read.fingerprint.stamps, strict=True):
            check_stamp(one, stamp)
        files.append(
            {
                "path": str(path.relative_to(inputs.root) if not inputs.single else path),
                "format": detect_format(path, rules.read.format),
                "bytes": read.fingerprint.bytes,
                "sha256": read.fingerprint.sha256,
            }
        )
    if inputs.single:
        return provenance_of(files[0], rules)
    listing = "".join(f"{f['path']}\t{f['sha256']}\n" for f in files)
    shards = {
        "path": str(inputs.root),
        "format": "shards",
        "bytes": sum(f["bytes"] for f in files),
        "sha256": hashlib.sha256(listing.encode()).hexdigest(),
        "files": files,
    }
    return provenance_of(shards, rules)
