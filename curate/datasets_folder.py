"""A saved Hugging Face ``datasets`` folder (``Dataset.save_to_disk``) as an input.

The folder is identified by its Arrow shards, hashed in the order its ``state.json`` lists them.
Neither ``datasets`` nor pyarrow is needed: without pyarrow, polars reads the shards. This module
depends on the row builder only, so that the file reader can dispatch to it and the sources
module can name it without an import cycle.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import InputError
from curate.inputfile import Fingerprint, check_unchanged, fingerprint_files
from curate.rowbuilder import BatchBuilder, ReadBatch, fill

STATE_FILE = "state.json"
DATASET_DICT_FILE = "dataset_dict.json"


def is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and ((path / STATE_FILE).is_file() or (path / DATASET_DICT_FILE).is_file())


def saved_dataset_shards(folder: Path) -> list[Path]:
    """The Arrow files of a ``Dataset.save_to_disk`` folder, in row order."""
    if (folder / DATASET_DICT_FILE).is_file() and not (folder / STATE_FILE).is_file():
        splits = _json_file(folder / DATASET_DICT_FILE).get("splits") or []
        hint = f" (e.g. {folder / splits[0]})" if splits else ""
        raise InputError(
            f"{folder}: a DatasetDict with splits {', '.join(splits) or 'none'}; "
            f"pass one split's folder{hint}"
        )
    if not (folder / STATE_FILE).is_file():
        raise InputError(
            f"{folder}: a folder without {STATE_FILE}: expected the output of "
            "datasets' Dataset.save_to_disk"
        )
    state = _json_file(folder / STATE_FILE)
    entries = state.get("_data_files")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{folder}/{STATE_FILE}: lists no data files (_data_files)")
    shards = []
    for entry in entries:
        name = entry.get("filename") if isinstance(entry, dict) else None
        # A shard name must stay inside the folder: state.json is input, not trusted.
        if not isinstance(name, str) or "/" in name or "\\" in name or name in ("", ".", ".."):
            raise InputError(f"{folder}/{STATE_FILE}: invalid data file entry {entry!r}")
        shard = folder / name
        if not shard.is_file():
            raise InputError(f"{folder}: data file {name} listed in {STATE_FILE} is missing")
        shards.append(shard)
    return shards


def _json_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object")
    return data


def saved_dataset_fingerprint(folder: Path) -> Fingerprint:
    """sha256 over the shards (as one stream, in row order), their total size and identity."""
    return fingerprint_files(saved_dataset_shards(folder))


def _shard_rows(shard: Path, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Rows of one Arrow stream file, batch by batch.

    pyarrow (present wherever ``datasets`` is) memory-maps the file and streams its record
    batches; without it polars reads the shard whole (``save_to_disk`` caps shards at 500 MB).
    """
    try:
        import pyarrow as pa
    except ImportError:
        with open(shard, "rb") as handle:  # a file object: the name is never a glob pattern
            frame = pl.read_ipc_stream(handle)
        for chunk in frame.iter_slices(batch_size):
            yield chunk.to_dicts()
        return
    with pa.memory_map(str(shard)) as mapped:
        for batch in pa.ipc.open_stream(mapped):
            for start in range(0, batch.num_rows, batch_size):
                yield batch.slice(start, batch_size).to_pylist()


def read_saved_dataset(
    folder: Path, builder: BatchBuilder, batch_size: int, seen: list[Fingerprint]
) -> Iterator[ReadBatch]:
    """The reader for a saved ``datasets`` folder (same contract as the file readers).

    The shards are hashed before they are read and checked unchanged after: Arrow is read by
    memory map, not as a stream this module could hash on the way. ``seen`` receives the
    fingerprint when the read ends.
    """
    shards = saved_dataset_shards(folder)
    fingerprint = fingerprint_files(shards)
    chunks = (rows for shard in shards for rows in _shard_rows(shard, batch_size))
    try:
        yield from fill(builder, chunks, batch_size, None)
    except (pl.exceptions.ComputeError, ValueError) as exc:  # pyarrow errors subclass these
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{folder}: cannot read the Arrow data: {first}") from None
    check_unchanged(shards, fingerprint)
    seen.append(fingerprint)
