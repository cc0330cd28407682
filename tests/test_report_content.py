"""The audit report reads right: results first, percents, no install paths, text not reprs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from audit.report import document, markdown
from curate.rules import bundled_rules_dir

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "support_tickets.jsonl"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from curate.cli import run

    rep = tmp_path_factory.mktemp("report") / "rep"
    assert run(["-q", "audit", str(EXAMPLE), "--report", str(rep)]) == 0
    return rep


def plain(markdown: str) -> str:
    """Markdown without its escapes (values from the data are escaped in audit.md)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_values_follow_their_check_names(report: Path, cli) -> None:
    md = (report / "audit.md").read_text()
    assert "| malformed records at most 1% | dataset.quarantined_rate | 0.21% | <= 1% |" in plain(
        md
    )
    assert "records with personal data at most 0% (any is a warning)" in md
    assert "no personal data found" not in md
    code, out, _ = cli("audit", EXAMPLE, "--report", report.parent / "again")
    assert code == 0
    assert re.search(r"malformed records at most 1%\s+│ 0\.21%\s+│ <= 1%", out)


def test_no_install_paths_in_anything_the_audit_writes(report: Path) -> None:
    install = str(bundled_rules_dir())
    for path in report.iterdir():
        assert install not in path.read_text(), path.name
    audit = json.loads((report / "audit.json").read_text())
    assert audit["rules"]["source"] == "bundled:default.yaml"
    assert "bundled:default.yaml" in (report / "audit.md").read_text()


def test_results_come_first_with_contents_and_configuration_in_an_appendix(report: Path) -> None:
    md = (report / "audit.md").read_text()
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings[0] == "Decision summary"
    assert headings[-1] == "Appendix: configuration"
    assert "1. [Decision summary](#decision-summary)" in md
    assert f"{len(headings)}. [Appendix: configuration](#appendix-configuration)" in md
    html = (report / "audit.html").read_text()
    assert '<a href="#appendix-configuration">' in html
    assert '<section id="appendix-configuration">' in html


def test_lists_and_dicts_are_text_not_python_reprs(report: Path) -> None:
    md = (report / "audit.md").read_text()
    assert "['" not in md and "{'" not in md
    assert "axes=gender, race_ethnicity, religion" in plain(md)
    assert document.fmt({"a": 1, "b": [1.5, "x"]}) == "a: 1; b: 1.5, x"


def test_detector_quality_is_labelled_as_benchmark_figures(report: Path) -> None:
    md = (report / "audit.md").read_text()
    assert "#### Detector quality (measured on benchmark data, not on this dataset)" in md


def test_near_duplicate_example_pairs_are_shown(report: Path) -> None:
    """The bundled rules' dedupe_near gives its first pairs (tests/test_decisions.py checks
    them against planted pairs); a step that gives PII-safe excerpts gets them shown too."""
    audit = json.loads((report / "audit.json").read_text())
    step = next(s for s in audit["details"]["steps"] if s["id"] == "dedupe_near")
    pairs = step["summary"]["examples"]
    assert 0 < len(pairs) <= 5 and pairs == sorted(pairs, key=lambda p: int(p["id"]))
    md = plain((report / "audit.md").read_text())
    first = pairs[0]
    row = f"| {first['id']} | {first['duplicate_of']} | {document.fmt(first['similarity'])} |"
    assert row in md
    step["summary"]["examples"] = [
        {**first, "excerpt": "call me at ddd-dddd", "kept_excerpt": "call me on ddd-dddd"}
    ]
    text = plain(markdown.render(document.build(audit)))
    caption = "*example pairs flagged by dedupe_near (first 1 in input order; personal data in"
    assert caption + " ids masked; similarity: jaccard)*" in text
    assert "| call me at ddd-dddd | call me on ddd-dddd |" in text


def test_finetune_report_shows_settings_as_used() -> None:
    from finetune.report import settings_section

    section = settings_section(
        {"config": {"learning_rate": None, "epochs": 3.0, "search": {"enabled": False}},
         "learning_rate": 2e-05}
    )  # fmt: skip
    items = dict(section.blocks[0].items)
    assert items["learning_rate"] == 2e-05 and document.fmt(items["learning_rate"]) == "2e-05"
    assert items["search.enabled"] is False
