"""Import presidio without the transformers (and torch) it does not need in pattern mode.

presidio_analyzer imports ``transformers`` at import time for its Hugging Face NLP engine and
recognizer, each behind ``try: ... except ImportError``. With the finetune extra installed that
costs seconds and hundreds of MB in every process that scans for PII, though pattern mode never
uses either. So the first import of presidio runs with both names blocked; the block is lifted
right after, so a process that goes on to train (``curate finetune`` audits first) imports
them normally. presidio's own modules keep "transformers not available", which only its
transformers engine would notice; ner mode (spaCy, whose pipelines may use torch) is left alone.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager

BLOCKED = ("torch", "transformers")
PRESIDIO_MODULES = (
    "presidio_analyzer",
    "presidio_analyzer.nlp_engine",
    "presidio_analyzer.predefined_recognizers",
)


@contextmanager
def blocked(names: tuple[str, ...] = BLOCKED) -> Iterator[None]:
    """While inside, ``import name`` raises ImportError for each name not yet imported."""
    added = [name for name in names if name not in sys.modules]
    for name in added:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not found"
    try:
        yield
    finally:
        for name in added:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def load_presidio(ner: bool) -> None:
    """Import presidio once; in pattern mode without transformers and torch."""
    if ner or PRESIDIO_MODULES[0] in sys.modules:
        return
    with blocked():
        for name in PRESIDIO_MODULES:
            importlib.import_module(name)
