"""Rules: YAML files validated with pydantic, with ``extends:`` and ``file:line`` errors.

A rules file names the text fields, the cleaning steps (in order), the audit checks and the gate
thresholds. Rules are data: loaded with the safe loader (see ``yamlsafe``), never executed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from curate import registry
from curate.errors import RulesError
from curate.rules_merge import Loc, Locator, display_path, merge_chain
from curate.version import __version__
from curate.yamlsafe import YamlDoc, load_yaml, read_limited

#: No setting needs an integer this large; past it floats lose integers and C sizes overflow.
MAX_INT = 2**53
RULES_SUFFIXES = (".yaml", ".yml")
#: a lexicon or recognizer file the rules name is hashed into the rules' sha256; at most this big
MAX_USED_FILE = 64 << 20  # a model's tokenizer.json can be tens of MB


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Fields(_Strict):
    """Where the text of a record comes from, and which other columns matter."""

    text: str | list[str] | None = Field(
        None, description="field (or list of fields, joined) holding the text"
    )
    chat: str | None = Field(
        None, description="field holding chat messages [{role, content}] (OpenAI format)"
    )
    optional: list[str] = Field(
        default_factory=list, description="text fields that may be missing or null"
    )
    id: str | None = Field(None, description="record id field; default: the line/row number")
    label: str | None = Field(None, description="label column (rebalancing, bias, fine-tune)")
    sensitive: list[str] = Field(
        default_factory=list, description="sensitive attribute columns for bias checks"
    )
    columns: list[str] = Field(default_factory=list, description="other columns steps read")
    join: str = Field("\n\n", description="separator between joined text fields")

    @model_validator(mode="after")
    def _one_source(self) -> Fields:
        if self.text is not None and self.chat is not None:
            raise ValueError("give either 'text' or 'chat', not both")
        return self

    @property
    def text_fields(self) -> list[str]:
        if self.chat is not None:
            return []
        if self.text is None:
            return ["text"]
        return [self.text] if isinstance(self.text, str) else list(self.text)


class ReadOptions(_Strict):
    format: Literal["auto", "jsonl", "csv", "parquet"] = "auto"
    batch_size: int = Field(5000, ge=1, le=1_000_000, description="records per batch")
    max_line_bytes: int = Field(
        32 << 20, ge=1024, le=1 << 30, description="longer JSONL lines are quarantined, not parsed"
    )
    delimiter: Literal["auto", ",", ";", "\t", "|"] = Field(
        "auto",
        description="CSV field separator; auto: tab for .tsv, else whichever of , ; tab | "
        "splits the header into the most columns",
    )


class StepSpec(_Strict):
    step: str
    id: str
    action: Literal["drop", "flag"] = "drop"
    params: registry.Params
    where: str = Field("", exclude=True, description="file:line of the spec, for errors")
    origin: tuple[str, ...] = Field(
        (), exclude=True, description="file:line of every rules file that wrote this entry"
    )


class CheckSpec(_Strict):
    check: str
    params: registry.Params
    where: str = Field("", exclude=True, description="file:line of the spec, for errors")
    origin: tuple[str, ...] = Field(
        (), exclude=True, description="file:line of every rules file that wrote this entry"
    )


Op = Literal["<", "<=", ">", ">=", "==", "!="]


class GateRule(_Strict):
    metric: str = Field(description="a metric name, e.g. dataset.quarantined_rate")
    op: Op = "<="
    threshold: float
    severity: Literal["fail", "warn"] = "fail"
    name: str | None = None


class GateSpec(GateRule):
    """A gate rule as loaded, with where it came from (never read from the YAML itself)."""

    origin: tuple[str, ...] = Field(
        (), exclude=True, description="file:line of every rules file that wrote this entry"
    )


class BaselineRules(_Strict):
    """How ``audit --baseline OLD`` and ``curate diff`` judge a change from the last audit."""

    metrics: dict[str, float] = Field(
        default_factory=lambda: {
            "dataset.quarantined_rate": 0.0,
            "pii.*rate": 0.0,
            "steps.*.flagged_rate": 0.02,
            "outcome_bias.demographic_parity_difference": 0.02,
            "representation.max_representation_score": 0.05,
        },
        description="metric name pattern (fnmatch) -> largest allowed increase",
    )
    max_group_share_shift: float = Field(
        0.05, ge=0, le=1, description="largest allowed move of any group's share"
    )
    new_entity_types: bool = Field(True, description="fail when a PII entity type appears")
    severity: Literal["fail", "warn"] = "fail"


class _RawRules(_Strict):
    version: Literal[1] = 1
    name: str = "rules"
    description: str = ""
    seed: int = Field(0, ge=0, le=2**32 - 1)
    fields: Fields = Field(default_factory=Fields)
    read: ReadOptions = Field(default_factory=ReadOptions)
    steps: list[dict[str, Any]] = Field(default_factory=list)
    checks: list[dict[str, Any]] = Field(default_factory=list)
    gate: list[GateRule] = Field(default_factory=list)
    baseline: BaselineRules = Field(default_factory=BaselineRules)
    finetune: dict[str, Any] = Field(
        default_factory=dict,
        description="fine-tuning settings, validated by finetune.config.FinetuneConfig when a "
        "fine-tune starts (curate does not import finetune)",
    )
    collapsed_metrics: bool = Field(
        True,
        description="also compute every check on the records left after duplicate removal "
        "(metrics named collapsed.<check>.<metric>; needs a dedupe step)",
    )


class Rules(_Strict):
    """Validated, merged rules."""

    version: int
    name: str
    description: str
    seed: int
    fields: Fields
    read: ReadOptions
    steps: list[StepSpec]
    checks: list[CheckSpec]
    gate: list[GateSpec]
    baseline: BaselineRules
    collapsed_metrics: bool
    finetune: dict[str, Any]
    source: str = Field(description="the rules file that was loaded")
    files: list[str] = Field(description="that file and every file it extends")
    base_dir: str
    removed: list[tuple[str, str, str]] = Field(
        default_factory=list,
        description="(section, entry, file:line) of each inherited entry a file removed",
    )
    used_files: dict[str, str] = Field(
        default_factory=dict,
        description="sha256 of each file the steps and checks read (recognizers, lexicons), "
        "by a name that does not depend on the machine",
    )

    @property
    def shown_source(self) -> str:
        """``source`` as reports show it: a bundled file as ``bundled:default.yaml``."""
        return display_path(self.source, bundled_rules_dir())

    @property
    def shown_files(self) -> list[str]:
        return [display_path(f, bundled_rules_dir()) for f in self.files]

    def canonical(self) -> dict[str, Any]:
        """The rules as plain data, without where they came from (hashed for provenance)."""
        # Hyper-parameters are not part of what an audit judges: changing a learning rate must
        # not invalidate the audit of the same data under the same gate.
        data = self.model_dump(
            mode="json",
            exclude={"source", "files", "base_dir", "finetune", "removed", "used_files"},
        )
        data["steps"] = [
            {"step": s.step, "id": s.id, "action": s.action, **s.params.model_dump(mode="json")}
            for s in self.steps
        ]
        data["checks"] = [
            {"check": c.check, **c.params.model_dump(mode="json")} for c in self.checks
        ]
        return data

    @property
    def sha256(self) -> str:
        """The rules as data plus the content of every file they read (lexicons, recognizers):
        editing a recognizer file changes the hash an audit is bound to."""
        body: Any = self.canonical()
        if self.used_files:
            body = {"rules": body, "files": self.used_files}
        blob = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def structure_checked(self) -> bool:
        """Whether a configured check reports malformed chats itself (then the reader keeps
        them for it; see ``registry.Check.checks_structure``)."""
        registry.load_plugins()
        return any(
            getattr(registry.CHECKS.get(spec.check), "checks_structure", False)
            for spec in self.checks
        )

    def required_columns(self) -> list[str]:
        cols: list[str] = []
        f = self.fields
        for name in [f.id, f.label, *f.sensitive, *f.columns]:
            if name and name not in cols:
                cols.append(name)
        return cols


def bundled_rules_dir() -> Path:
    """The rules shipped with the package (wheel: curate/rules; source tree: ./rules)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "rules", here.parent / "rules"):
        if (candidate / "default.yaml").is_file():
            return candidate
    raise RulesError("bundled rules not found: the installation is incomplete")


def resolve_rules_path(ref: str | Path | None, relative_to: Path | None = None) -> Path:
    """A path, or the name of a bundled rule set (``default``, ``pretraining``)."""
    if ref is None:
        return bundled_rules_dir() / "default.yaml"
    path = Path(ref)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if path.exists():
        return path
    name = Path(ref).name
    bundled = bundled_rules_dir() / (name if name.endswith((".yaml", ".yml")) else f"{name}.yaml")
    if (path.suffix == "" or str(ref) == name) and bundled.is_file():
        return bundled
    return path  # let the loader report "not found" with this path


def _did_you_mean(word: str, options: list[str]) -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _first_error(exc: ValidationError, prefix: Loc, model: type[BaseModel]) -> tuple[Loc, str]:
    err = exc.errors(include_url=False)[0]
    loc: Loc = tuple(err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden" and loc:
        parent = model
        for part in loc[:-1]:
            field = parent.model_fields.get(str(part)) if isinstance(part, str) else None
            ann = getattr(field, "annotation", None) if field else None
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                parent = ann
        msg = f"unknown key {loc[-1]!r}{_did_you_mean(str(loc[-1]), list(parent.model_fields))}"
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif "input" in err and err["type"] not in {"value_error"}:
        given = err["input"]
        if not isinstance(given, (dict, list)):
            msg = f"{msg} (got {given!r})"
    return prefix + loc, msg


def _load_chain(path: Path) -> list[YamlDoc]:
    docs: list[YamlDoc] = []
    seen: set[Path] = set()
    current: Path | None = path
    while current is not None:
        real = current.resolve()
        if real in seen:
            raise RulesError(f"{current}: 'extends' forms a cycle")
        seen.add(real)
        doc = load_yaml(current)
        if doc.data is None:
            doc.data = {}
        if not isinstance(doc.data, dict):
            raise RulesError(f"{current}:1: a rules file must be a mapping of keys")
        docs.append(doc)
        parent = doc.data.get("extends")
        if parent is None:
            current = None
        elif not isinstance(parent, str):
            raise RulesError(f"{current}:{doc.line_of(('extends',))}: extends: must be a path")
        else:
            where = f"{doc.path}:{doc.line_of(('extends',))}"
            current = resolve_rules_path(parent, relative_to=current.parent)
            if not current.exists():
                raise RulesError(f"{where}: extends: file not found: {parent}")
            # Only rules files: any other file (/etc/shadow) would be parsed, and a parse or
            # validation error would print a piece of it.
            if current.resolve().suffix.lower() not in RULES_SUFFIXES:
                raise RulesError(f"{where}: extends: must name a rules file (.yaml or .yml)")
        if len(docs) > 16:
            raise RulesError(f"{path}: 'extends' chain deeper than 16 files")
    return docs


def _validate_plugin(
    spec: dict[str, Any],
    kind: str,
    index: int,
    table: dict[str, Any],
    locator: Locator,
    fields: Fields,
) -> tuple[str, dict[str, Any], registry.Params]:
    section = "steps" if kind == "step" else "checks"
    if not isinstance(spec, dict):
        raise locator.fail((section, index), f"each {kind} must be a mapping with a '{kind}' key")
    name = spec.get(kind)
    if not isinstance(name, str):
        raise locator.fail((section, index), f"missing '{kind}: <name>'")
    if name not in table:
        hint = _did_you_mean(name, sorted(table))
        raise locator.fail((section, index, kind), f"unknown {kind} {name!r}{hint}")
    meta_keys = {"step", "id", "action"} if kind == "step" else {"check"}
    meta = {k: v for k, v in spec.items() if k in meta_keys}
    params = {k: v for k, v in spec.items() if k not in meta_keys}
    model = table[name].Params
    try:
        validated = model.model_validate(params)
    except ValidationError as exc:
        loc, msg = _first_error(exc, (section, index), model)
        if "unknown key" in msg and len(loc) == 3:
            allowed = sorted(set(model.model_fields) | meta_keys)
            msg = (
                f"unknown key {loc[-1]!r} for {kind} {name!r}{_did_you_mean(str(loc[-1]), allowed)}"
            )
        raise locator.fail(loc, msg) from None
    try:
        validated = validated.for_fields(fields)
    except registry.ParamsError as exc:
        raise locator.fail((section, index, *exc.key), f"{kind} {name!r}: {exc}") from None
    return name, meta, validated


def load_rules(ref: str | Path | None = None) -> Rules:
    """Load, merge (``extends``) and validate a rules file or bundled rule set name."""
    registry.load_plugins()
    path = resolve_rules_path(ref)
    if not path.exists():
        names = sorted(p.stem for p in bundled_rules_dir().glob("*.yaml"))
        hint = _did_you_mean(Path(str(ref)).stem, names) if ref is not None else ""
        raise RulesError(
            f"{ref}: rules file not found{hint} (a path, or a bundled rule set: {', '.join(names)})"
        )
    docs = _load_chain(path)
    chain = merge_chain(docs)
    locator = Locator(chain)
    merged = chain.data
    bundled = bundled_rules_dir()
    _check_numbers(merged, (), locator)
    try:
        raw = _RawRules.model_validate(merged)
    except ValidationError as exc:
        loc, msg = _first_error(exc, (), _RawRules)
        raise locator.fail(loc, msg) from None

    steps: list[StepSpec] = []
    seen_ids: set[str] = set()
    for i, spec in enumerate(raw.steps):
        name, meta, params = _validate_plugin(spec, "step", i, registry.STEPS, locator, raw.fields)
        step_id = meta.get("id", name)
        if not isinstance(step_id, str) or not step_id:
            raise locator.fail(("steps", i, "id"), "id must be a non-empty string")
        if step_id in seen_ids:
            raise locator.fail(("steps", i), f"step id {step_id!r} used twice: give each an 'id'")
        seen_ids.add(step_id)
        action = meta.get("action", "drop")
        if action not in ("drop", "flag"):
            raise locator.fail(
                ("steps", i, "action"), f"action must be 'drop' or 'flag' (got {action!r})"
            )
        steps.append(
            StepSpec(
                step=name,
                id=step_id,
                action=action,
                params=params,
                where=locator.where(("steps", i)),
                origin=locator.origin("steps", i, bundled),
            )
        )

    checks: list[CheckSpec] = []
    for i, spec in enumerate(raw.checks):
        name, _, params = _validate_plugin(spec, "check", i, registry.CHECKS, locator, raw.fields)
        if any(c.check == name for c in checks):
            raise locator.fail(("checks", i), f"check {name!r} configured twice")
        checks.append(
            CheckSpec(
                check=name,
                params=params,
                where=locator.where(("checks", i)),
                origin=locator.origin("checks", i, bundled),
            )
        )

    known = known_metrics(checks, steps)
    for i, rule in enumerate(raw.gate):
        if rule.metric not in known:
            hint = _did_you_mean(rule.metric, sorted(known))
            raise locator.fail(("gate", i, "metric"), f"unknown metric {rule.metric!r}{hint}")
    gate = [
        GateSpec(**rule.model_dump(), origin=locator.origin("gate", i, bundled))
        for i, rule in enumerate(raw.gate)
    ]

    base_dir = str(path.resolve().parent)
    used: dict[str, str] = {}
    for spec in [*steps, *checks]:
        lister = getattr(spec.params, "used_files", None)  # a plugin's params may name files
        for name, file in lister(base_dir) if lister is not None else ():
            content = read_limited(file, MAX_USED_FILE, "file named by the rules")
            used[name] = hashlib.sha256(content).hexdigest()

    return Rules(
        version=raw.version,
        name=raw.name,
        description=raw.description,
        seed=raw.seed,
        fields=raw.fields,
        read=raw.read,
        steps=steps,
        checks=checks,
        gate=gate,
        baseline=raw.baseline,
        collapsed_metrics=raw.collapsed_metrics,
        finetune=raw.finetune,
        source=str(path),
        files=[str(d.path) for d in docs],
        base_dir=base_dir,
        removed=[
            (
                section,
                key,
                display_path(where.rsplit(":", 1)[0], bundled) + ":" + where.rsplit(":", 1)[1],
            )
            for section, key, where in chain.removed
        ],
        used_files=dict(sorted(used.items())),
    )


def _check_numbers(value: Any, loc: Loc, locator: Locator) -> None:
    """Refuse NaN, infinities and integers no setting can mean, with the line they are on.

    ``threshold: .nan`` makes every comparison false (a gate that cannot fail on it) and an
    integer past 64 bits overflows at run time, far from the rules file.
    """
    if isinstance(value, dict):
        for key, child in value.items():
            _check_numbers(child, (*loc, key), locator)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            _check_numbers(child, (*loc, i), locator)
    elif isinstance(value, float) and not math.isfinite(value):
        raise locator.fail(loc, f"{value} is not a finite number")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise locator.fail(loc, f"integer {value} is out of range (at most {MAX_INT})")


def known_metrics(checks: list[CheckSpec], steps: list[StepSpec]) -> set[str]:
    """Metric names the gate may use: the dataset metrics, each check's, each step's rates."""
    names = {f"dataset.{m}" for m in DATASET_METRICS}
    for check in checks:
        for metric in registry.CHECKS[check.check].metrics:
            names |= {f"{check.check}.{metric}", f"collapsed.{check.check}.{metric}"}
    for step in steps:
        names |= {f"steps.{step.id}.{m}" for m in STEP_METRICS}
    return names


DATASET_METRICS = {
    "records": "records read (valid and quarantined)",
    "valid_records": "records that parsed and had their text fields",
    "quarantined": "malformed records",
    "quarantined_rate": "quarantined / records",
    "empty_text_rate": "share of valid records whose text is empty or whitespace",
    "mean_chars": "mean text length in characters",
    "label_classes": "number of distinct labels (needs fields.label)",
    "label_imbalance_ratio": "largest class count / smallest class count (needs fields.label)",
    "min_label_share": "share of the smallest class (needs fields.label)",
}
STEP_METRICS = {
    "flagged": "records the step marked (in the audit every step only flags)",
    "flagged_rate": "flagged / valid records",
    "changed_rate": "share of records whose text the step changed",
}


def provenance_of(input_info: dict[str, Any], rules: Rules) -> dict[str, Any]:
    """The tool, input and rules blocks of a manifest or audit, for a described input."""
    return {
        "tool": {"name": "curate", "version": __version__},
        "input": input_info,
        "rules": {
            "name": rules.name,
            "source": rules.shown_source,
            "files": rules.shown_files,
            "sha256": rules.sha256,
            "seed": rules.seed,
        },
    }


def build_steps(rules: Rules) -> list[tuple[StepSpec, registry.Step[Any]]]:
    """Construct every configured step; a step that rejects its setup is a rules error."""
    return [(spec, build_step(rules, spec)) for spec in rules.steps]


def build_step(rules: Rules, spec: StepSpec) -> registry.Step[Any]:
    """Construct one configured step (in this process or in a worker), bound to the rules'
    record shape: every engine builds its steps here."""
    return _built(rules, spec, registry.STEPS[spec.step], f"step {spec.id!r}")


def build_checks(rules: Rules) -> list[registry.Check]:
    """Construct every configured check; a check that rejects its setup is a rules error."""
    return [_built(rules, s, registry.CHECKS[s.check], f"check {s.check!r}") for s in rules.checks]


def _built(rules: Rules, spec: Any, cls: Any, what: str) -> Any:
    """A step or check of ``cls`` for ``spec``, bound to the rules' fields (a rules error if
    it rejects its setup or reads a column the rules do not name)."""
    try:
        made = cls(spec.params, seed=rules.seed, base_dir=rules.base_dir)
    except (ValueError, OSError) as exc:
        raise RulesError(f"{spec.where}: {what}: {exc}") from None
    if isinstance(made, registry.Check):
        made.bind_fields(label=rules.fields.label, sensitive=list(rules.fields.sensitive))
    made.bind_record_shape(rules.fields)
    missing = [c for c in made.required_columns() if c not in rules.required_columns()]
    if missing:
        raise RulesError(
            f"{spec.where}: {what} reads column {missing[0]!r}: name it in "
            "fields.label, fields.sensitive or fields.columns"
        )
    return made
