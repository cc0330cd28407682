"""What the ``curate`` commands print: a rich console sized for terminals and logs, and JSON."""

from __future__ import annotations

import json
import sys
from typing import Any


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Logs (CI) are not terminals: do not wrap tables to 80 columns there.
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
