"""The merged ("effective") rules as a reader sees them, with the file each entry came from.

``curate rules show --effective FILE`` prints YAML that loads as the same rules (steps and checks
list the parameters the files set; the rest are the step's defaults), each list entry followed by
a comment naming the ``file:line`` that introduced it and any file that overrode it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import yaml

from curate.rules import Rules, bundled_rules_dir, display_path

SECTIONS = ("steps", "checks", "gate")


def _file_of(where: str) -> str:
    return where.rsplit(":", 1)[0]


def entries(rules: Rules) -> dict[str, list[tuple[dict[str, Any], tuple[str, ...]]]]:
    """Each list entry as the rules set it (no unset defaults) with its origin."""
    out: dict[str, list[tuple[dict[str, Any], tuple[str, ...]]]] = {}
    out["steps"] = [
        (
            {
                "step": s.step,
                "id": s.id,
                "action": s.action,
                **s.params.model_dump(mode="json", exclude_unset=True),
            },
            s.origin,
        )
        for s in rules.steps
    ]
    out["checks"] = [
        ({"check": c.check, **c.params.model_dump(mode="json", exclude_unset=True)}, c.origin)
        for c in rules.checks
    ]
    out["gate"] = [(g.model_dump(mode="json", exclude_none=True), g.origin) for g in rules.gate]
    return out


def origin_counts(rules: Rules) -> dict[str, dict[str, Counter[str]]]:
    """Per section: how many entries each file introduced, and how many it overrode."""
    counts: dict[str, dict[str, Counter[str]]] = {}
    for section, items in entries(rules).items():
        added: Counter[str] = Counter()
        overrode: Counter[str] = Counter()
        for _, origin in items:
            if origin:
                added[_file_of(origin[0])] += 1
                for later in dict.fromkeys(_file_of(w) for w in origin[1:]):
                    overrode[later] += 1
        removed: Counter[str] = Counter(
            _file_of(where) for sec, _, where in rules.removed if sec == section
        )
        counts[section] = {"added": added, "overrode": overrode, "removed": removed}
    return counts


def summary(rules: Rules) -> str:
    """``5 steps (5 from bundled:default.yaml); 8 gate rules (7 from …, 1 from my.yaml)``."""
    labels = {"steps": "steps", "checks": "checks", "gate": "gate rules"}
    parts = []
    for section, c in origin_counts(rules).items():
        total = sum(c["added"].values())
        where = [f"{n} from {f}" for f, n in c["added"].items()]
        where += [f"{n} overridden by {f}" for f, n in c["overrode"].items()]
        where += [f"{n} removed by {f}" for f, n in c["removed"].items()]
        detail = f" ({', '.join(where)})" if where else ""
        parts.append(f"{total} {labels[section]}{detail}")
    return "; ".join(parts)


def files(rules: Rules) -> list[str]:
    bundled = bundled_rules_dir()
    return [display_path(f, bundled) for f in rules.files]


def as_data(rules: Rules) -> dict[str, Any]:
    """The effective rules with origins, for ``--json``."""
    data = rules.canonical()
    for section, items in entries(rules).items():
        data[section] = [{**entry, "from": list(origin)} for entry, origin in items]
    data["finetune"] = rules.finetune
    data["files"] = files(rules)
    data["removed"] = [
        {"section": sec, "entry": key, "at": where} for sec, key, where in rules.removed
    ]
    return data


def _flow(entry: dict[str, Any]) -> str:
    return yaml.safe_dump(
        entry, default_flow_style=True, sort_keys=False, width=1 << 20, allow_unicode=True
    ).strip()


def _block(key: str, value: Any) -> str:
    return yaml.safe_dump(
        {key: value}, default_flow_style=False, sort_keys=False, allow_unicode=True, width=1 << 20
    ).rstrip()


def render(rules: Rules) -> str:
    """The effective rules as commented YAML."""
    chain = " → ".join(files(rules))
    lines = [f"# effective rules of {chain}", "# (a step's unset parameters take its defaults)"]
    canon = rules.canonical()
    for key in ("version", "name", "description", "seed", "fields", "read"):
        lines.append(_block(key, canon[key]))
    listed = entries(rules)
    for section in SECTIONS:
        if not listed[section]:
            lines.append(f"{section}: []")
            continue
        lines.append(f"{section}:")
        for entry, origin in listed[section]:
            note = origin[0] if origin else "?"
            if len(origin) > 1:
                note += ", overridden at " + ", ".join(origin[1:])
            lines.append(f"  - {_flow(entry)}  # {note}")
        for sec, key, where in rules.removed:
            if sec == section:
                lines.append(f"  # removed: {key} (at {where})")
    lines.append(_block("baseline", canon["baseline"]))
    lines.append(_block("collapsed_metrics", canon["collapsed_metrics"]))
    if rules.finetune:
        lines.append(_block("finetune", rules.finetune))
    return "\n".join(lines) + "\n"
