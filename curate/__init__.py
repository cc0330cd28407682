"""curate: decide whether a text dataset is fit to train on, make it fit, prove it.

Python API::

    from curate import audit, clean

    result = audit("train.jsonl", "report", rules="default")   # or a DataFrame, a Dataset...
    if not result.passed:
        raise SystemExit(result.exit_code)

Both names are resolved lazily (``__getattr__`` below), for two reasons: ``import curate``
stays cheap (the CLI and the step modules import it), and ``curate`` keeps its rule of never
importing the ``audit`` package at import time. ``curate.audit`` is the one place where curate
reaches into ``audit``, and it does so only when the function is called (see ``curate.api``).
The cleaning module itself is ``curate.cleaning``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from curate.version import __version__

__all__ = ["__version__", "audit", "clean"]

if TYPE_CHECKING:
    from curate.api import audit, clean

_API = ("audit", "clean")


def __getattr__(name: str) -> Any:
    if name in _API:
        from curate import api

        return getattr(api, name)
    raise AttributeError(f"module 'curate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({name for name in globals() if name.startswith("__")} | set(__all__))
