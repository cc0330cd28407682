"""A pickle that can only build data: what a ``--resume`` checkpoint is read back with.

Numbers, containers, numpy arrays and random generators, polars frames, the dataclasses of
curate's own packages, and a plugin's totals or decision from a module this run imported
already: a tampered file cannot make it run code or import a module.
"""

from __future__ import annotations

import dataclasses
import io
import pickle
import sys
from typing import Any

from curate.registry import Decision, Totals

_OWN_PACKAGES = ("curate", "audit", "finetune")
# numbers, containers, numpy arrays and random generators, polars frames
_ALLOWED = {
    (module, name)
    for modules, names in [
        ("builtins", "complex set frozenset bytearray int float str list dict"),
        ("collections", "Counter OrderedDict defaultdict"),
        ("numpy", "dtype ndarray"),
        ("numpy._core.numeric numpy.core.numeric", "_frombuffer"),
        ("numpy._core.multiarray numpy.core.multiarray", "_reconstruct scalar"),
        ("numpy.random._pickle", "__generator_ctor __bit_generator_ctor"),
        ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence SeedSequence"),
        ("polars.series.series", "Series"),
        ("polars.dataframe.frame", "DataFrame"),
    ]
    for module in modules.split()
    for name in names.split()
}
_BIT_GENERATORS = {"PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"}


class _DataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or (
            module.startswith("numpy.random._") and name in _BIT_GENERATORS
        ):
            return super().find_class(module, name)
        # A dataclass of curate's own packages, or a plugin's totals or decision from a module
        # this run imported already (a checkpoint never makes a plugin's module be imported).
        own = module.split(".")[0] in _OWN_PACKAGES
        found = (
            super().find_class(module, name)
            if own
            else getattr(sys.modules.get(module), name, None)
        )
        is_data = isinstance(found, type) and dataclasses.is_dataclass(found)
        if is_data and (own or issubclass(found, (Totals, Decision))):
            return found
        raise pickle.UnpicklingError(f"checkpoint refers to {module}.{name}: not data")


def load_data(blob: bytes) -> Any:
    """The data pickled in ``blob`` (``pickle.UnpicklingError`` for anything else)."""
    return _DataUnpickler(io.BytesIO(blob)).load()
