"""``curate rules validate`` and ``curate rules show``: rules files checked, steps, checks and
fine-tune settings listed with their parameters and defaults."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from curate.cli_output import console as _console
from curate.cli_output import print_json as _print_json
from curate.errors import EXIT_PASS, CurateError


def cmd_rules_validate(args: argparse.Namespace) -> int:
    from curate import rules_view
    from curate.rules import load_rules

    results = []
    for path in args.files:
        rules = load_rules(path)
        results.append(
            {
                "file": str(path),
                "files": rules_view.files(rules),
                "sha256": rules.sha256,
                "counts": {
                    section: {kind: dict(counter) for kind, counter in per_section.items()}
                    for section, per_section in rules_view.origin_counts(rules).items()
                },
            }
        )
        if not args.quiet and not args.json:
            print(f"{path}: ok ({rules_view.summary(rules)}; sha256 {rules.sha256[:12]})")
    if args.json:
        _print_json(results)
    return EXIT_PASS


def cmd_rules_show(args: argparse.Namespace) -> int:
    from curate import registry
    from curate.rules import bundled_rules_dir

    if args.effective:
        from curate import rules_view
        from curate.rules import load_rules

        if args.name:
            raise CurateError("give either a step or check name, or --effective FILE")
        rules = load_rules(args.effective)
        if args.json:
            _print_json(rules_view.as_data(rules))
        else:
            sys.stdout.write(rules_view.render(rules))
        return EXIT_PASS

    if args.name == "finetune":
        return _show_finetune_settings(args)
    registry.load_plugins()
    tables: list[tuple[str, dict[str, Any]]] = [
        ("step", registry.STEPS),
        ("check", registry.CHECKS),
    ]
    catalogue: dict[str, Any] = {}
    for kind, table in tables:
        for name, cls in sorted(table.items()):
            if args.name and name != args.name:
                continue
            params = {}
            for field, info in cls.Params.model_fields.items():
                default = info.get_default(call_default_factory=True)
                params[field] = {
                    "type": _type_label(info.annotation),
                    "default": default,
                    "doc": info.description or "",
                }
            # a step and a check may share a name (chat_format): both are listed
            key = name if name not in catalogue else f"{name} ({kind})"
            catalogue[key] = {
                "kind": kind,
                "doc": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else "",
                "params": params,
                "metrics": getattr(cls, "metrics", {}),
            }
    if args.name and not catalogue:
        raise CurateError(f"no step or check named {args.name!r} (see `curate rules show`)")
    if args.json:
        _print_json(
            {
                "bundled_rules": sorted(p.name for p in bundled_rules_dir().glob("*.yaml")),
                **catalogue,
            }
        )
        return EXIT_PASS
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    for key, item in catalogue.items():
        name = key.split(" (")[0]
        title = f"{item['kind']} [bold]{name}[/]: {escape(item['doc'])}"
        table = Table(title=title, title_justify="left")
        table.add_column("parameter")
        table.add_column("type")
        table.add_column("default")
        table.add_column("doc")
        for field, meta in item["params"].items():
            table.add_row(
                escape(field),
                escape(meta["type"]),
                escape(json.dumps(meta["default"], default=str)),
                escape(meta["doc"]),
            )
        console.print(table)
        if item["metrics"]:
            console.print("  metrics: " + ", ".join(f"{name}.{m}" for m in item["metrics"]))
    console.print(
        "bundled rule sets: " + ", ".join(p.stem for p in bundled_rules_dir().glob("*.yaml"))
    )
    return EXIT_PASS


def _show_finetune_settings(args: argparse.Namespace) -> int:
    from finetune.config import settings_catalogue

    rows = settings_catalogue()
    if args.json:
        _print_json(rows)
        return EXIT_PASS
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title="finetune settings (the rules' finetune: section, --config FILE, CLI flags)",
        title_justify="left",
    )
    for column in ("setting", "type", "default", "doc"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            escape(row["setting"]),
            escape(row["type"]),
            escape(json.dumps(row["default"], default=str)),
            escape(row["doc"]),
        )
    _console().print(table)
    return EXIT_PASS


def _type_label(annotation: Any) -> str:
    from typing import Literal, get_args, get_origin

    if get_origin(annotation) is Literal:
        return " | ".join(str(a) for a in get_args(annotation))
    name = getattr(annotation, "__name__", None)
    return name if name and not get_args(annotation) else str(annotation).replace("typing.", "")
