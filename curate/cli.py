"""The ``curate`` command: parses arguments, calls the library, renders with rich.

Exit codes: 0 pass, 1 gate failed, 2 usage / rules / input / environment error (disk full,
read-only folder), 3 internal error, 130 / 143 interrupted by SIGINT / SIGTERM. Errors are one
line on stderr; ``--debug`` adds the traceback. Heavy modules are imported by the command that
needs them so that ``curate --help`` starts fast.

The exit code is the verdict's, whatever happens to stdout: a reader that closes the pipe early
(``curate audit ... --json | true``) does not turn a failed gate into a pass.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from curate.cli_explain import add_parser as _add_explain
from curate.cli_output import console as _console
from curate.cli_output import print_json as _print_json
from curate.cli_preview import add_preview_parser
from curate.cli_rules import cmd_rules_show, cmd_rules_validate
from curate.errors import EXIT_INTERNAL, EXIT_PASS, EXIT_USAGE, CurateError
from curate.version import __version__


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line instead of usage + message; exit 2 as argparse does."""
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_USAGE)


@contextmanager
def _progress(args: argparse.Namespace, label: str, total_bytes: int | None) -> Iterator[Any]:
    """Progress on stderr when it is a terminal (``curate.progress``); None otherwise."""
    if args.quiet or not sys.stderr.isatty():
        yield None
        return
    from curate.progress import TerminalProgress

    with TerminalProgress(label, total_bytes, _console(stderr=True)) as progress:
        yield progress


def _total_bytes(path: str) -> int | None:
    name = path.lower()
    if name.endswith((".jsonl", ".ndjson", ".json", ".csv", ".tsv")):
        try:
            return Path(path).stat().st_size
        except OSError:
            return None
    return None


@contextmanager
def _stdout_may_close() -> Iterator[None]:
    """Write the summary; if the reader has gone (EPIPE), drop it and keep the exit code."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    # Later writes and the interpreter's final flush would raise again: point fd 1 at
    # /dev/null so they succeed silently.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's capture): nothing will flush it at exit


def _note_resumed(args: argparse.Namespace, position: Any) -> None:
    if position is not None and not args.quiet:
        where = "the input" if position.segment == 0 else f"fit step {position.segment}'s spool"
        sys.stderr.write(
            f"curate: resumed from a checkpoint: {position.chunk} chunks of {where} were done\n"
        )


def _add_resume_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--resume",
        action="store_true",
        help="checkpoint as the run goes; continue a killed --resume run into the same folder",
    )
    p.add_argument(
        "--checkpoint-every",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="with --resume: least time between checkpoints (default: 30)",
    )


def _add_workers_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="processes sharing the per-record work (default 0: one per core); "
        "outputs do not depend on it",
    )


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="ray: run on a Ray cluster with Ray Data (input may be a folder of shards)",
    )
    p.add_argument(
        "--address",
        help="with --engine ray: the cluster to join (e.g. auto, or ray://head:10001); "
        "default: a Ray started for this run on this machine",
    )


def _engine(args: argparse.Namespace) -> dict[str, Any]:
    """The engine options of ``clean`` and ``audit`` (which refuse meaningless combinations)."""
    if args.engine == "local" and args.address:
        raise CurateError("--address needs --engine ray")
    return {"engine": args.engine, "address": args.address}


def cmd_clean(args: argparse.Namespace) -> int:
    from curate.cleaning import clean

    with _progress(args, "clean", _total_bytes(args.input)) as progress:
        result = clean(
            args.input,
            args.out,
            args.rules,
            progress=progress,
            resume=args.resume,
            checkpoint_every=args.checkpoint_every,
            workers=args.workers,
            output_format=args.output_format,
            **_engine(args),
        )
    _note_resumed(args, result.resumed_from)
    counts = result.manifest["counts"]
    parquet = result.out_dir / "clean.parquet" if args.output_format == "parquet" else None
    if args.json:
        _print_json(
            {
                "out": str(result.out_dir),
                "counts": counts,
                "steps": result.manifest["steps"],
                **({"parquet": str(parquet)} if parquet else {}),
            }
        )
    elif not args.quiet:
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=escape(f"curate clean → {result.out_dir}"))
        for col in ("step", "in", "dropped", "flagged", "changed", "out"):
            table.add_column(col, justify="left" if col == "step" else "right")
        for step in result.manifest["steps"]:
            table.add_row(
                escape(step["id"]),
                *(str(step[k]) for k in ("in", "dropped", "flagged", "changed", "out")),
            )
        console = _console()
        console.print(table)
        console.print(
            f"records {counts['records']} = kept {counts['kept']} + dropped {counts['dropped']}"
            f" + quarantined {counts['quarantined']}"
            + (
                f"; {counts['upsampled_copies']} upsampled copies"
                if counts["upsampled_copies"]
                else ""
            )
            + (f"; also wrote {parquet.name}" if parquet else "")
        )
    return EXIT_PASS


def _verdict_table(checks: list[dict[str, Any]], title: str) -> Any:
    # Names from the data and the rules (a path or check named "[/]") are text, not markup.
    from rich.markup import escape
    from rich.table import Table

    from audit.report.document import fmt_check

    table = Table(title=escape(title), title_justify="left")
    for col in ("check", "value", "threshold", "severity", "status"):
        table.add_column(col)
    from audit.gate import status_label

    colours = {
        "pass": "green",
        "fail": "red",
        "missing": "red",
        "warn": "yellow",
        "not_enough_evidence": "dim",
    }
    for check in checks:
        status = check["status"]
        table.add_row(
            escape(str(check["name"])),
            escape(fmt_check(check, check["value"])),
            f"{check['op']} {escape(fmt_check(check, check['threshold']))}",
            check["severity"],
            f"[{colours.get(status, 'default')}]{status_label(status)}[/]",
        )
    return table


def cmd_audit(args: argparse.Namespace) -> int:
    from audit.run import run_audit

    datasheet = None
    if args.datasheet:
        from audit.attestation import read_datasheet

        datasheet = read_datasheet(args.datasheet)  # a bad file stops before any work
    with _progress(args, "audit", _total_bytes(args.data)) as progress:
        audit = run_audit(
            args.data,
            args.report,
            args.rules,
            progress=progress,
            baseline=args.baseline,
            resume=args.resume,
            checkpoint_every=args.checkpoint_every,
            workers=args.workers,
            **_engine(args),
        )
    _note_resumed(args, audit.resumed_from)
    result = audit.data
    if datasheet is not None:
        from audit.attestation import attach_datasheet
        from audit.report import render_all

        attach_datasheet(audit.report_dir, result, datasheet)
        render_all(result, audit.report_dir)
    with _stdout_may_close():
        _print_audit(args, audit, result, with_datasheet=datasheet is not None)
    return EXIT_PASS if audit.passed else 1


def _print_audit(
    args: argparse.Namespace, audit: Any, result: dict[str, Any], *, with_datasheet: bool
) -> None:
    if args.json:
        _print_json(
            {
                "verdict": result["verdict"],
                "checks": result["checks"],
                "report": str(audit.report_dir),
                "counts": result["counts"],
            }
        )
    elif args.format == "github":
        from audit.report import github

        sys.stdout.write(github.render(result, audit.report_dir))
    elif not args.quiet:
        from rich.markup import escape

        console = _console()
        console.print(_verdict_table(result["checks"], f"curate audit: {result['input']['path']}"))
        colour = "green" if audit.passed else "red"
        from audit.run import REPORT_FILES

        names = [*REPORT_FILES, *(["datasheet.json"] if with_datasheet else [])]
        written = sorted(n for n in names if (audit.report_dir / n).is_file())
        failed = [c for c in result["checks"] if c["status"] in ("fail", "missing")]
        if failed:
            console.print(
                "failing: " + ", ".join(escape(str(c["metric"])) for c in failed),
                highlight=False,
            )
        first = (result["details"].get("dataset", {}).get("quarantine_examples") or [None])[0]
        if first is not None:
            quarantined = result["metrics"].get("dataset.quarantined", 0)
            console.print(
                f"{quarantined} record(s) quarantined; the first, line {first['line']}: "
                f"{escape(str(first['error']))}",
                highlight=False,
            )
        console.print(
            f"Verdict: [bold {colour}]{audit.verdict.upper()}[/]  "
            f"wrote {escape(str(audit.report_dir))}/: {', '.join(written)}"
        )


def _report_dir(path: str) -> Path:
    return Path(path) if Path(path).is_dir() else Path(path).parent


def cmd_report(args: argparse.Namespace) -> int:
    from audit.report import refuse_hand_edits, render_all
    from audit.signing import can_verify, load_audit

    data = load_audit(args.dir, verify=True)
    folder = _report_dir(args.dir)
    if args.verify and args.datasheet:
        raise CurateError("--verify writes nothing: it cannot attach a --datasheet")
    if not args.verify:
        if not args.overwrite:
            refuse_hand_edits(folder)
        if args.datasheet:
            from audit.attestation import attach_datasheet, read_datasheet

            attach_datasheet(folder, data, read_datasheet(args.datasheet))
        render_all(data, folder)
    if not args.quiet:
        verb = "verified" if args.verify else "re-rendered"
        signed = "signature ok" if can_verify() else "signature not checked"
        sys.stdout.write(
            f"{verb}: {args.dir} (verdict {data['verdict'].upper()}, digest ok, {signed})\n"
        )
    return EXIT_PASS


def cmd_signoff(args: argparse.Namespace) -> int:
    from audit.attestation import sign
    from audit.report import refuse_hand_edits, render_all
    from audit.signing import load_audit

    data = load_audit(args.dir, verify=True)  # never sign an edited audit
    folder = _report_dir(args.dir)
    refuse_hand_edits(folder)
    record = sign(
        folder,
        data,
        reviewer=args.reviewer,
        decision=args.decision,
        note=args.note or "",
        role=args.role or "",
    )
    render_all(data, folder)
    if args.json:
        _print_json(record)
    elif not args.quiet:
        from rich.markup import escape

        _console().print(
            f"signed: {args.decision.upper()} by {escape(record['reviewer'])} for audit digest "
            f"{record['audit_digest'][:16]}… ({folder / 'signoff.json'}; reports re-rendered)"
        )
    return EXIT_PASS


def cmd_diff(args: argparse.Namespace) -> int:
    from audit.baseline import compare, metric_deltas
    from audit.signing import load_audit
    from curate.rules import load_rules

    old = load_audit(args.old, verify=True)
    new = load_audit(args.new, verify=True)
    checks = compare(old, new, load_rules(args.rules).baseline)
    failed = [c for c in checks if c["status"] == "fail"]
    rows = [r for r in metric_deltas(old, new) if args.all or r["changed"]]
    with _stdout_may_close():
        _print_diff(args, rows, checks, failed)
    return 1 if failed else EXIT_PASS


def _print_diff(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    failed: list[dict[str, Any]],
) -> None:
    from audit.report.document import fmt

    if args.json:
        _print_json({"metrics": rows, "checks": checks, "regressions": len(failed)})
    elif not args.quiet:
        from rich.markup import escape
        from rich.table import Table

        console = _console()
        shown = "every metric" if args.all else "metrics that changed"
        title = escape(f"curate diff: {shown}, {args.old} → {args.new}")
        table = Table(title=title, title_justify="left")
        for col in ("metric", "old", "new", "change"):
            table.add_column(col, justify="left" if col == "metric" else "right")
        for row in rows:
            delta = row["delta"]
            change = "n/a" if delta is None else f"{delta:+.4g}"
            table.add_row(escape(row["metric"]), fmt(row["old"]), fmt(row["new"]), change)
        if rows:
            console.print(table)
        else:
            console.print(escape(f"curate diff: no metric changed ({args.old} → {args.new})"))
        console.print(_verdict_table(checks, "curate diff: regression checks (old → new)"))


def cmd_finetune(args: argparse.Namespace) -> int:
    from finetune.run import finetune

    with _progress(args, "finetune", None) as progress:
        result = finetune(
            args.data,
            args.model,
            args.out,
            rules=args.rules,
            audit=args.audit,
            config=args.config,
            require_signed=args.require_signed,
            task=args.task,
            folds=args.folds,
            search={"enabled": True} if args.search else None,
            epochs=args.epochs,
            learning_rate=args.lr,
            batch_size=args.batch_size,
            seed=args.seed,
            report_to=args.report_to,
            overwrite=args.overwrite,
            progress=progress,
        )
    summary = {
        "out": str(result.run_dir),
        "model": str(result.model_dir),
        "audit_digest": result.audit_digest,
        "test": {k: v for k, v in result.metrics["test"].items() if k != "per_class"},
    }
    if args.json:
        _print_json(summary)
    elif not args.quiet:
        figures = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in summary["test"].items()
        )
        sys.stdout.write(f"curate finetune → {result.run_dir}: test {figures}\n")
    return EXIT_PASS


def _global_flags(default: Any) -> argparse.ArgumentParser:
    """The flags that work before or after the command (``curate --json audit`` = ``audit --json``).

    The top-level parser gives them ``False``; each subcommand repeats them with a suppressed
    default, because argparse lets a subparser's defaults overwrite what the parent parsed.
    """
    flags = argparse.ArgumentParser(add_help=False)
    flags.add_argument(
        "--debug", action="store_true", default=default, help="print tracebacks on errors"
    )
    flags.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="no progress, no tables"
    )
    flags.add_argument(
        "--json", action="store_true", default=default, help="print the summary as JSON on stdout"
    )
    return flags


def build_parser() -> argparse.ArgumentParser:
    common = _global_flags(argparse.SUPPRESS)

    parser = _Parser(
        prog="curate",
        description="Clean, audit and gate text datasets before training on them.",
        parents=[_global_flags(False)],
        epilog="Exit codes: 0 pass, 1 gate failed, 2 usage/rules/input/environment error, "
        "3 internal error, 130/143 interrupted (SIGINT/SIGTERM).",
    )
    parser.add_argument("--version", action="version", version=f"curate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("clean", parents=[common], help="run the rules' cleaning steps")
    p.add_argument("input", help="JSONL (.gz, .zst), CSV or Parquet file")
    p.add_argument("--rules", help="rules file or bundled name (default: default)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--output-format",
        choices=["jsonl", "parquet"],
        default="jsonl",
        help="parquet: also write clean.parquet (column types of a Parquet input kept)",
    )
    _add_resume_options(p)
    _add_workers_option(p)
    _add_engine_options(p)
    p.set_defaults(func=cmd_clean)

    p = sub.add_parser("audit", parents=[common], help="audit a dataset and gate it")
    p.add_argument("data", help="JSONL (.gz, .zst), CSV or Parquet file")
    p.add_argument("--rules", help="rules file or bundled name (default: default)")
    p.add_argument("--report", default="report", help="report folder (default: ./report)")
    p.add_argument("--baseline", help="an earlier audit.json (or folder): fail on regressions")
    p.add_argument(
        "--format",
        choices=["text", "github"],
        default="text",
        help="github: print GitHub Actions annotations for failing checks and findings",
    )
    p.add_argument(
        "--datasheet",
        metavar="FILE",
        help="YAML with the datasheet answers (motivation, collection, uses, ...); "
        "kept beside audit.json and rendered in the reports",
    )
    _add_resume_options(p)
    _add_workers_option(p)
    _add_engine_options(p)
    p.set_defaults(func=cmd_audit)

    _add_explain(sub, common)

    p = sub.add_parser("report", parents=[common], help="re-render or verify an audit report")
    p.add_argument("dir", help="report folder (or its audit.json)")
    p.add_argument(
        "--verify",
        action="store_true",
        help="only check the digest (and the signature when CURATE_SIGNING_KEY is set); "
        "write nothing",
    )
    p.add_argument("--datasheet", metavar="FILE", help="YAML with the datasheet answers")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="re-render even over a report edited by hand (the edit is lost)",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "signoff", parents=[common], help="record a reviewer's decision on an audit report"
    )
    p.add_argument("dir", help="report folder (or its audit.json)")
    p.add_argument("--reviewer", required=True, help="the reviewer's name")
    p.add_argument("--decision", required=True, choices=["approve", "reject"])
    p.add_argument("--note", help="conditions or reasons, shown in the report")
    p.add_argument("--role", help="the reviewer's role (e.g. data protection officer)")
    p.set_defaults(func=cmd_signoff)

    p = sub.add_parser("diff", parents=[common], help="compare two audits; exit 1 on regressions")
    p.add_argument("old", help="the earlier audit.json or its folder")
    p.add_argument("new", help="the later audit.json or its folder")
    p.add_argument("--rules", help="rules whose `baseline:` section sets the tolerances")
    p.add_argument("--all", action="store_true", help="list unchanged metrics too")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser(
        "finetune", parents=[common], help="fine-tune a model on audited data (gated)"
    )
    p.add_argument("data", help="the audited JSONL, CSV or Parquet file")
    p.add_argument("--model", required=True, help="model folder or .gguf file (local)")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--audit", help="audit.json that passed for DATA (default: audit now)")
    p.add_argument("--rules", help="rules file or bundled name (default: default)")
    p.add_argument("--config", help="YAML with finetune settings (over the rules' finetune:)")
    p.add_argument("--task", choices=["classification", "causal-lm"])
    p.add_argument("--folds", type=int, help="also run K-fold cross-validation (K >= 2)")
    p.add_argument("--search", action="store_true", help="hyper-parameter search on validation")
    p.add_argument("--epochs", type=float)
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--seed", type=int, help="training and split seed (default: the rules')")
    p.add_argument("--report-to", choices=["none", "tensorboard", "wandb", "mlflow"])
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier run's outputs in --out (default: refuse a non-empty folder)",
    )
    p.add_argument(
        "--require-signed",
        action="store_true",
        help="refuse an audit without a valid signature under CURATE_SIGNING_KEY",
    )
    p.set_defaults(func=cmd_finetune)

    add_preview_parser(sub, common)

    p = sub.add_parser("rules", parents=[common], help="validate rules or list steps and checks")
    rules_sub = p.add_subparsers(dest="rules_command", metavar="ACTION", parser_class=_Parser)
    rules_sub.required = True
    v = rules_sub.add_parser("validate", parents=[common], help="validate rules files")
    v.add_argument("files", nargs="+")
    v.set_defaults(func=cmd_rules_validate)
    s = rules_sub.add_parser(
        "show", parents=[common], help="every step and check with its parameters"
    )
    s.add_argument(
        "name", nargs="?", help="only this step or check; `finetune`: every fine-tune setting"
    )
    s.add_argument(
        "--effective",
        metavar="FILE",
        help="FILE's rules merged with what it extends; each entry says which file set it",
    )
    s.set_defaults(func=cmd_rules_show)
    return parser


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like an error (temp files and work folders are removed on the
    way out) but is no error of curate's: not caught by ``except Exception``."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


#: the signal that arrived during this run, if any. A signal's exception raised while a
#: library runs Python code from native code (polars building a frame) can come out as
#: another exception (TypeError "unprintable str object"): the run was still interrupted.
_signal_received: list[int] = []


def _on_sigterm(signum: int, frame: Any) -> None:
    _signal_received.append(signum)
    raise Terminated(signum)


def _on_sigint(signum: int, frame: Any) -> None:
    _signal_received.append(signum)
    raise KeyboardInterrupt


#: errno values that mean the machine or the user's files, not curate: exit 2, one line
ENVIRONMENT_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.EEXIST,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENOENT,
    errno.ENAMETOOLONG,
    errno.EMFILE,
    errno.ENFILE,
    errno.EIO,
}


def _environment_message(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.EEXIST:
        reason += " (an output path exists and is not a folder?)"
    return f"{where}{reason}"


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (``main`` exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    func: Callable[[argparse.Namespace], int] = args.func
    previous = previous_int = None
    _signal_received.clear()
    if threading_main():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        previous_int = signal.signal(signal.SIGINT, _on_sigint)
    try:
        return func(args)
    except Terminated as exc:
        sys.stderr.write("curate: terminated\n")
        return 128 + exc.signum
    except CurateError as exc:
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(f"curate: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("curate: interrupted\n")
        return 128 + signal.SIGINT
    except BrokenPipeError:
        # A listing (rules show) whose reader stopped early; the commands that decide a
        # verdict guard their summary with _stdout_may_close and keep the verdict's code.
        _silence_stdout()
        return EXIT_PASS
    except OSError as exc:
        if exc.errno not in ENVIRONMENT_ERRNOS:
            return _internal(args, exc)
        if args.debug:
            traceback.print_exc()
        sys.stderr.write(f"curate: error: {_environment_message(exc)}\n")
        return EXIT_USAGE
    except Exception as exc:
        if _signal_received:  # the signal's exception, converted on its way through a library
            signum = _signal_received[0]
            sys.stderr.write(
                f"curate: {'interrupted' if signum == signal.SIGINT else 'terminated'}\n"
            )
            return 128 + signum
        return _internal(args, exc)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if previous_int is not None:
            signal.signal(signal.SIGINT, previous_int)


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _internal(args: argparse.Namespace, exc: Exception) -> int:
    if args.debug:
        traceback.print_exc()
    first = str(exc).splitlines()[0] if str(exc) else ""
    sys.stderr.write(
        f"curate: internal error: {type(exc).__name__}: {first} (run with --debug for the "
        "traceback; please report it)\n"
    )
    return EXIT_INTERNAL


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()
