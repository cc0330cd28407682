"""``curate explain DATA --rules R --id ID``: every step's and check's verdict and values for
one record (see ``curate.explain``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from curate.cli_output import print_json as _print_json
from curate.errors import EXIT_PASS


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "explain",
        parents=[common],
        help="why one record is kept, dropped or flagged: every step's and check's values",
    )
    p.add_argument("data", help="JSONL (.gz, .zst), CSV or Parquet file")
    p.add_argument("--rules", help="rules file or bundled name (default: default)")
    p.add_argument(
        "--id", required=True, dest="record_id", help="the record's id (or line, without ids)"
    )
    p.set_defaults(func=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    from curate.explain import explain, render

    explained = explain(args.data, args.rules, args.record_id)
    if args.json:
        _print_json([record.to_json() for record in explained])
    elif not args.quiet:
        sys.stdout.write(render(explained, str(args.data)))
    return EXIT_PASS
