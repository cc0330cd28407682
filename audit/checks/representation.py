"""representation: how evenly the texts mention the groups of each demographic axis.

Needs no attribute column: each axis (gender, race_ethnicity, religion, age, disability,
nationality, sexual_orientation) has a lexicon, ``<lexicon_dir>/<axis>.yaml``, mapping its groups
to the terms that mention them (see ``audit.lexicons`` for the format, lookup and matching).
Both scores are those of HELM's bias metrics (Liang et al. 2022), on the dataset's texts:

- representation score: count the mentions of each group, divide by the group's number of terms
  (``normalize_by_terms``; so that a longer list does not look like more mentions), turn the
  result into shares p_g and take the total variation distance from uniform,
  0.5 * sum_g |p_g - 1/G|. 0 means every group is mentioned equally; the maximum, 1 - 1/G,
  means only one group is mentioned. Below ``min_mentions`` mentions on an axis (default 30) the
  score is ``None`` and the gate says "not enough evidence" for it: a handful of pronouns is no
  measure of skew, and gating on it made the warning fire on nearly every dataset.
- association score: for every target word (``targets``: occupations and adjectives lists), the
  co-occurrences with each group are summed over units (a whole document, or a sentence / line
  with ``association_scope: sentence``) as (group mentions in the unit) x (target mentions in the
  unit); that vector gets the same score, and the scores are averaged over the target words that
  co-occur with the axis at least ``min_cooccurrences`` times.

Counting is vectorised per batch: one regex alternation per lexicon, run with polars over the
whole text column; only per-term and per-(target, group) totals are kept across batches.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, model_validator

from audit.lexicons import (
    NAME_PATTERN,
    AxisLexicon,
    Matcher,
    TargetLexicon,
    ascii_for_matching,
    find_lexicon,
    load_lexicon,
    shown_path,
)
from curate import batch as B
from curate.errors import RulesError
from curate.registry import Check, Params, Totals, register_check, summed

AXES = (
    "gender",
    "race_ethnicity",
    "religion",
    "age",
    "disability",
    "nationality",
    "sexual_orientation",
)
AxisName = Literal[AXES]  # type: ignore[valid-type]
DEFAULT_TARGETS = ("occupations", "adjectives")
# Sentence ends and line breaks delimit units for association_scope: sentence.
SENTENCE_BREAK = r"[.!?]+\s+"
TOP_TERMS = 10
TOP_TARGETS = 100


def tvd_from_uniform(weights: Sequence[float]) -> float | None:
    """Total variation distance between ``weights`` (normalised) and the uniform distribution.

    ``None`` when every weight is zero: there is no distribution to compare.
    """
    values = np.asarray(weights, dtype=np.float64)
    total = values.sum()
    if values.size == 0 or total == 0:
        return None
    shares = values / total
    return float(0.5 * np.abs(shares - 1.0 / values.size).sum())


class RepresentationParams(Params):
    axes: list[AxisName] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(AXES),
        min_length=1,
        description="demographic axes to measure; each reads <lexicon_dir>/<axis>.yaml",
    )
    targets: list[Annotated[str, Field(pattern=NAME_PATTERN)]] = Field(
        default_factory=lambda: list(DEFAULT_TARGETS),
        description="target word lists for the association score (<lexicon_dir>/<name>.yaml); "
        "empty: no association score",
    )
    lexicon_dir: str = Field(
        "lexicons",
        min_length=1,
        description="folder of the lexicons, relative to the rules file; the bundled rules' "
        "folder is the fallback",
    )
    association_scope: Literal["document", "sentence"] = Field(
        "document",
        description="unit within which a group term and a target word co-occur: the whole "
        "text (as HELM) or a sentence / line",
    )
    normalize_by_terms: bool = Field(
        True, description="divide each group's count by its number of terms (as HELM)"
    )
    min_mentions: int = Field(
        30,
        ge=1,
        le=10**12,
        description="fewer group mentions on an axis: no score, the gate says not enough evidence",
    )
    min_cooccurrences: int = Field(
        1,
        ge=1,
        le=10**12,
        description="target words co-occurring fewer times with an axis are left out of its "
        "association score",
    )

    @model_validator(mode="after")
    def _no_repeats(self) -> RepresentationParams:
        for field in ("axes", "targets"):
            values = getattr(self, field)
            if len(set(values)) != len(values):
                raise ValueError(f"{field}: each name may appear once")
        return self

    def used_files(self, base_dir: str | None) -> list[tuple[str, Path]]:
        """The lexicon files read (for the rules' sha256), by their machine-free names."""
        paths = [find_lexicon(n, self.lexicon_dir, base_dir) for n in [*self.axes, *self.targets]]
        return [(f"lexicon:{shown_path(p, base_dir)}", p) for p in paths]


def _metric_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for axis in AXES:
        table[f"{axis}_representation_score"] = (
            f"{axis}: total variation distance of group mention shares from uniform (0 = even)"
        )
    for axis in AXES:
        table[f"{axis}_association_score"] = (
            f"{axis}: mean over target words of the same distance on co-occurrence counts"
        )
    table["max_representation_score"] = "largest representation score over the measured axes"
    table["max_association_score"] = "largest association score over the measured axes"
    return table


@dataclass
class RepresentationTotals(Totals):
    #: axis -> term -> mentions
    term_counts: dict[str, Counter[str]] = summed(dict)
    #: axis -> (target word, group) -> co-occurrences
    pair_counts: dict[str, Counter[tuple[str, str]]] = summed(dict)
    records: int = summed()
    units: int = summed()


@register_check
class Representation(Check):
    """Group mention balance and stereotypical association per demographic axis (HELM)."""

    name = "representation"
    Params = RepresentationParams
    metrics = _metric_table()

    def __init__(self, params: RepresentationParams, **kw: Any) -> None:
        super().__init__(params, **kw)
        self.params: RepresentationParams = params
        self.axes: dict[str, AxisLexicon] = {}
        self.axis_files: dict[str, str] = {}  # as shown in reports
        axis_paths: dict[str, Path] = {}
        for axis in params.axes:
            path = find_lexicon(axis, params.lexicon_dir, self.base_dir)
            lexicon = load_lexicon(path, AxisLexicon)
            if lexicon.axis != axis:
                raise RulesError(f"{path}: axis is {lexicon.axis!r}, expected {axis!r}")
            self.axes[axis] = lexicon
            self.axis_files[axis] = shown_path(path, self.base_dir)
            axis_paths[axis] = path
        self.target_lists: list[TargetLexicon] = []
        self.list_of_target: dict[str, str] = {}
        term_to_target: dict[str, str] = {}
        for name in params.targets:
            path = find_lexicon(name, params.lexicon_dir, self.base_dir)
            lexicon = load_lexicon(path, TargetLexicon)
            if lexicon.name != name:
                raise RulesError(f"{path}: name is {lexicon.name!r}, expected {name!r}")
            for term, target in lexicon.term_to_target().items():
                if term in term_to_target:
                    raise RulesError(f"{path}: target term {term!r} is also in another list")
                term_to_target[term] = target
                self.list_of_target[target] = name
            self.target_lists.append(lexicon)
        for axis, lexicon in self.axes.items():
            overlap = sorted(set(lexicon.term_to_group()) & set(term_to_target))
            if overlap:
                raise RulesError(
                    f"{axis_paths[axis]}: term {overlap[0]!r} is also a target word; "
                    "a term cannot be counted as both"
                )
        self._axis_matchers = {a: Matcher(lex.term_to_group()) for a, lex in self.axes.items()}
        self._target_matcher = Matcher(term_to_target) if term_to_target else None
        matchers = [*self._axis_matchers.values(), self._target_matcher]
        self._fold_to_ascii = all(m.is_ascii for m in matchers if m is not None)
        self.totals = self.new_totals()

    totals_type = RepresentationTotals
    totals: RepresentationTotals

    def new_totals(self) -> RepresentationTotals:
        axes = getattr(self, "axes", {})  # the base class asks before the lexicons are read
        return RepresentationTotals(
            term_counts={a: Counter() for a in axes}, pair_counts={a: Counter() for a in axes}
        )

    # -- counting ----------------------------------------------------------------------------

    def _units_of(self, batch: pl.DataFrame) -> pl.DataFrame:
        text = pl.col(B.TEXT).fill_null("")
        if self._fold_to_ascii:
            text = ascii_for_matching(text)
        texts = batch.select(text.alias("text"))
        if self.params.association_scope == "sentence":
            texts = texts.select(
                pl.col("text").str.replace_all(SENTENCE_BREAK, "\n").str.split("\n")
            ).explode("text")
        return texts.with_row_index("unit")

    def update(self, batch: pl.DataFrame) -> Iterable[dict[str, Any]] | None:
        self.totals.records += batch.height
        if batch.height == 0:
            return None
        units = self._units_of(batch)
        self.totals.units += units.height
        targets = None
        if self._target_matcher is not None:
            targets = (
                self._target_matcher.hits(units, "unit", "text")
                .group_by("unit", "key")
                .agg(pl.col("n").sum())
            )
        for axis, matcher in self._axis_matchers.items():
            hits = matcher.hits(units, "unit", "text")
            if hits.height == 0:
                continue
            totals = hits.group_by("term").agg(pl.col("n").sum())
            self.totals.term_counts[axis].update(dict(totals.iter_rows()))
            if targets is None or targets.height == 0:
                continue
            pairs = (
                hits.group_by("unit", "key")
                .agg(pl.col("n").sum())
                .join(targets, on="unit", suffix="_target")
                .group_by("key_target", "key")
                .agg((pl.col("n") * pl.col("n_target")).sum().alias("n"))
            )
            counter = self.totals.pair_counts[axis]
            for target, group, n in pairs.iter_rows():
                counter[(target, group)] += n
        return None

    # -- scoring -----------------------------------------------------------------------------

    def _group_weights(self, axis: str, counts: dict[str, int]) -> list[float]:
        groups = self.axes[axis].groups
        if self.params.normalize_by_terms:
            return [counts.get(g, 0) / len(terms) for g, terms in groups.items()]
        return [float(counts.get(g, 0)) for g in groups]

    def _group_counts(self, axis: str) -> dict[str, int]:
        term_to_group = self.axes[axis].term_to_group()
        counts: Counter[str] = Counter()
        for term, n in self.totals.term_counts[axis].items():
            counts[term_to_group[term]] += n
        return dict(counts)

    def _representation(self, axis: str) -> float | None:
        counts = self._group_counts(axis)
        if sum(counts.values()) < self.params.min_mentions:
            return None
        return tvd_from_uniform(self._group_weights(axis, counts))

    def _target_scores(self, axis: str) -> list[dict[str, Any]]:
        by_target: dict[str, dict[str, int]] = {}
        for (target, group), n in self.totals.pair_counts[axis].items():
            by_target.setdefault(target, {})[group] = n
        rows = []
        for target, counts in by_target.items():
            total = sum(counts.values())
            if total < self.params.min_cooccurrences:
                continue
            rows.append(
                {
                    "target": target,
                    "list": self.list_of_target[target],
                    "cooccurrences": total,
                    "by_group": {g: counts.get(g, 0) for g in self.axes[axis].groups},
                    "score": tvd_from_uniform(self._group_weights(axis, counts)),
                }
            )
        rows.sort(key=lambda r: (-r["cooccurrences"], r["target"]))
        return rows

    @staticmethod
    def _mean_score(rows: list[dict[str, Any]]) -> float | None:
        scores = [r["score"] for r in rows if r["score"] is not None]
        return float(np.mean(scores)) if scores else None

    def result(self) -> dict[str, float | int | None]:
        out: dict[str, float | int | None] = dict.fromkeys(self.metrics)
        for axis in self.axes:
            out[f"{axis}_representation_score"] = self._representation(axis)
            out[f"{axis}_association_score"] = self._mean_score(self._target_scores(axis))
        for kind in ("representation", "association"):
            values = [out[f"{a}_{kind}_score"] for a in self.axes]
            present = [v for v in values if v is not None]
            out[f"max_{kind}_score"] = max(present) if present else None
        return out

    def without_evidence(self) -> set[str]:
        return {name for name, value in self.result().items() if value is None}

    def details(self) -> dict[str, Any]:
        axes = []
        for axis, lexicon in self.axes.items():
            counts = self._group_counts(axis)
            total = sum(counts.values())
            weights = self._group_weights(axis, counts)
            weight_sum = sum(weights)
            terms = self.totals.term_counts[axis]
            term_to_group = lexicon.term_to_group()
            groups = []
            for (group, group_terms), weight in zip(lexicon.groups.items(), weights, strict=True):
                top = sorted(
                    ((t, n) for t, n in terms.items() if term_to_group[t] == group),
                    key=lambda item: (-item[1], item[0]),
                )[:TOP_TERMS]
                groups.append(
                    {
                        "group": group,
                        "terms": len(group_terms),
                        "count": counts.get(group, 0),
                        "share": counts.get(group, 0) / total if total else None,
                        "weighted_share": weight / weight_sum if weight_sum else None,
                        "top_terms": [{"term": t, "count": n} for t, n in top],
                    }
                )
            targets = self._target_scores(axis)
            by_list = {
                lst.name: self._mean_score([r for r in targets if r["list"] == lst.name])
                for lst in self.target_lists
            }
            axes.append(
                {
                    "axis": axis,
                    "lexicon": self.axis_files[axis],
                    "source": lexicon.source,
                    "mentions": total,
                    "enough_evidence": total >= self.params.min_mentions,
                    "representation_score": self._representation(axis),
                    "association_score": self._mean_score(targets),
                    "association_by_list": by_list,
                    "targets_scored": len(targets),
                    "groups": groups,
                    "associations": targets[:TOP_TARGETS],
                }
            )
        return {
            "records": self.totals.records,
            "units": self.totals.units,
            "min_mentions": self.params.min_mentions,
            "association_scope": self.params.association_scope,
            "normalize_by_terms": self.params.normalize_by_terms,
            "target_lists": [
                {"name": lst.name, "source": lst.source, "targets": len(lst.terms)}
                for lst in self.target_lists
            ],
            "axes": axes,
        }
