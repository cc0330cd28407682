"""The labelled PII sets of bench/ are the same texts in every process, on every day.

Faker's ``date()`` and ``time()`` draw between 1970 and *now*, so the hard negatives holding
dates and times changed from one run to the next (and one second to the next) although every
generator was seeded: a figure measured on such a set could not be measured again.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("faker")
BENCH = Path(__file__).resolve().parent.parent / "bench"

DIGEST = """
import hashlib, sys
sys.path.insert(0, {bench!r})
import pii_corpus, pii_heldout, eval_pii
texts = []
for name in ("acceptance", "sealed"):
    texts += [repr(s) for s in pii_corpus.labelled_sentences(150, templates=name)]
texts += [repr(s) for s in pii_heldout.heldout_sentences(150)]
texts += [repr(s) for s in eval_pii.faker_samples(150, 42)]
print(hashlib.sha256("\\n".join(texts).encode()).hexdigest())
"""


def _digest(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", DIGEST.format(bench=str(BENCH))],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_sets_are_the_same_in_two_processes_seconds_apart() -> None:
    first = _digest("1")
    time.sleep(1.5)  # "now" moves on: a draw bounded by it would move too
    assert _digest("2") == first
    assert len(first) == len(hashlib.sha256().hexdigest())
