"""JUnit XML: one test case per gate check, so CI systems show the gate like a test run."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from audit.report.document import fmt

# Characters XML 1.0 cannot hold at all, even escaped: ElementTree writes them raw and the file
# no longer parses. They are shown as \\xNN instead (file and check names are data).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(value: object) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def render(result: dict[str, Any]) -> str:
    checks = result["checks"]
    failures = sum(c["status"] in ("fail", "missing") and c["severity"] == "fail" for c in checks)
    suite = ET.Element(
        "testsuite",
        name=_xml_text(f"curate audit {result['input']['path']}"),
        tests=str(len(checks)),
        failures=str(failures),
        errors="0",
        skipped="0",
        timestamp=_xml_text(result["created"]),
    )
    for check in checks:
        case = ET.SubElement(
            suite, "testcase", classname="curate.gate", name=_xml_text(check["name"])
        )
        message = _xml_text(
            f"{check['metric']} = {fmt(check['value'])}, required {check['op']} "
            f"{fmt(check['threshold'])} ({check['status']})"
        )
        if check["severity"] == "fail" and check["status"] in ("fail", "missing"):
            ET.SubElement(case, "failure", message=message, type=check["status"]).text = message
        else:
            ET.SubElement(case, "system-out").text = message
    suites = ET.Element("testsuites", name="curate", tests=str(len(checks)), failures=str(failures))
    suites.append(suite)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
