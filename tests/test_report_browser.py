"""audit.html in a real browser: the charts paint, the page stays offline, the CSP holds.

Headless Chromium (Debian's ``chromium``; skipped where it is absent) is driven over the Chrome
DevTools protocol on a pipe (``--remote-debugging-pipe``: NUL-separated JSON on file
descriptors 3 and 4), so no websocket client and no network port are needed. The Network
domain reports every request the page starts, including ones the CSP then blocks.

``CURATE_REPORT_SCREENSHOT=docs/report.png pytest tests/test_report_browser.py`` also writes
the screenshot kept for the README.
"""

from __future__ import annotations

import base64
import json
import os
import random
import select
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audit.report import document
from audit.run import AuditResult
from curate import audit

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} is not installed")

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]
WIDTH = 1100
BAR_FILL = (0x4A, 0x78, 0xB5)  # the bar colour html.py draws with
FAIL_BADGE = (0xC6, 0x28, 0x28)  # .fail background
UNREACHABLE = "http://127.0.0.1:9/pixel.png"  # port 9 (discard): nothing is ever fetched

RULES = """
extends: default
fields:
  text: text
  id: id
  label: approved
  sensitive: [sex]
checks:
  - check: pii
  - check: representation
  - check: outcome_bias
    min_group_size: 10
"""


def _records(n: int = 90, seed: int = 7) -> list[dict[str, str]]:
    """Loan notes: pronouns for the representation check, contact details now and then, and
    an approval label that differs by sex, so every chart of the report has data."""
    rng = random.Random(seed)
    jobs = ["nurse", "engineer", "teacher", "doctor", "pilot", "lawyer", "baker"]
    rows = []
    for i in range(n):
        sex = rng.choice(["female", "male", "male"])
        pronoun = "She" if sex == "female" else "He"
        text = f"{pronoun} works as a {rng.choice(jobs)} and applied for loan number {i}."
        if i % 8 == 0:
            text += f" Reach me at applicant{i}@example.com or +1 415 555 01{i % 100:02d}."
        odds = 0.35 if sex == "female" else 0.7
        rows.append(
            {
                "id": f"L{i:03d}",
                "text": text,
                "sex": sex,
                "approved": "yes" if rng.random() < odds else "no",
            }
        )
    return rows


class Chromium:
    """A headless Chromium session on one page, over the DevTools pipe."""

    def __init__(self, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes() -> None:  # the protocol's fixed descriptors: 3 in, 4 out
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.proc = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w, 3, 4),
            preexec_fn=wire_pipes,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Network", "Page", "Log"):
            self.send(f"{domain}.enable", page=True)

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], deadline - time.time())
            if not ready:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, page: bool = False
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if page:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.time() + 30
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def open(self, url: str, width: int = WIDTH) -> None:
        """Navigate and wait for the load event, then for the event stream to go quiet."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            page=True,
        )
        self.events.clear()
        self.send("Page.navigate", {"url": url}, page=True)
        deadline = time.time() + 30
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._receive(deadline))
        while select.select([self._from_browser], [], [], 0.3)[0] or b"\0" in self._buffer:
            self.events.append(self._receive(deadline))

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, page=True
        )
        return result["result"]["value"]

    def screenshot(self, clip: dict[str, float], scale: float = 1) -> bytes:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": True}
        params["clip"] = {**clip, "scale": scale}
        return base64.b64decode(self.send("Page.captureScreenshot", params, page=True)["data"])

    def requests(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def blocked(self) -> list[str]:
        return [
            e["params"].get("blockedReason") or e["params"].get("errorText", "")
            for e in self.events
            if e.get("method") == "Network.loadingFailed"
        ]

    def log(self) -> list[str]:
        return [
            e["params"]["entry"]["text"] for e in self.events if e.get("method") == "Log.entryAdded"
        ]

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        except (OSError, EOFError, TimeoutError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)


def png_pixels(data: bytes) -> tuple[int, int, list[list[tuple[int, ...]]]]:
    """Decode an 8-bit RGB(A) PNG (what Chromium writes): (width, height, rows of pixels)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    channels = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(line)
        previous = line
    pixels = [[tuple(row[x * channels : x * channels + 3]) for x in range(width)] for row in rows]
    return width, height, pixels


def _near(colour: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


CHART_GEOMETRY = """JSON.stringify([...document.querySelectorAll('svg.chart')].map(svg => ({
  title: svg.getAttribute('aria-label'),
  bars: [...svg.querySelectorAll('rect')].map(r => {
    const b = r.getBoundingClientRect();
    return {x: b.left + scrollX, y: b.top + scrollY, width: b.width, height: b.height};
  }),
})))"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    folder = tmp_path_factory.mktemp("browser")
    (folder / "rules.yaml").write_text(RULES)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # relative paths in the report, as a user in their project sees
        return audit(_records(), folder / "report", "rules.yaml", name="loan_notes")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    session = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="module")
def page(report: AuditResult, browser: Chromium) -> dict[str, Any]:
    url = report.path("audit.html").resolve().as_uri()
    browser.open(url)
    return {
        "url": url,
        "requests": browser.requests(),
        "log": browser.log(),
        "charts": json.loads(browser.evaluate(CHART_GEOMETRY)),
        "overflow": browser.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        ),
        "height": browser.evaluate("document.documentElement.scrollHeight"),
        "badge": browser.evaluate(
            "JSON.stringify(document.querySelector('.verdict').getBoundingClientRect())"
        ),
        # The docs screenshot runs down to the end of the first section with a chart.
        "first_charts_end": browser.evaluate(
            "document.querySelector('svg.chart').closest('body > section')"
            ".getBoundingClientRect().bottom + scrollY"
        ),
    }


def test_every_chart_of_the_document_is_drawn_to_scale(report: AuditResult, page) -> None:
    expected = [
        block
        for section in _walk(document.build(report.data).sections)
        for block in section.blocks
        if isinstance(block, document.Chart) and block.items
    ]
    titles = [c.title for c in expected]
    # The fixture data must reach the label, PII and group-share charts, not just lengths.
    assert "Labels" in titles and any("PII" in t for t in titles)
    assert any("sex" in t for t in titles), titles
    drawn = page["charts"]
    assert [c["title"] for c in drawn] == titles
    for chart, shown in zip(expected, drawn, strict=True):
        values = [float(v) for _, v in chart.items]
        widths = [bar["width"] for bar in shown["bars"]]
        assert len(widths) == len(values), chart.title
        assert all(
            w > 0 and bar["height"] > 0 for w, bar in zip(widths, shown["bars"], strict=True)
        )
        top, widest = max(values), max(widths)
        for value, width in zip(values, widths, strict=True):
            if value > 0:  # bars are scaled to the largest value
                assert width / widest == pytest.approx(value / top, abs=0.01), chart.title


def test_bars_are_painted_in_the_screenshot(page, browser: Chromium) -> None:
    browser.open(page["url"])
    bars = [bar for chart in page["charts"] for bar in chart["bars"] if bar["width"] >= 4]
    assert bars
    for bar in bars:
        clip = {"x": bar["x"] + 1, "y": bar["y"] + bar["height"] / 2 - 1, "width": 2, "height": 2}
        _, _, pixels = png_pixels(browser.screenshot(clip))
        assert _near(pixels[0][0], BAR_FILL), (bar, pixels[0][0])


def test_styles_apply_and_layout_fits_the_width(report: AuditResult, page, browser) -> None:
    assert report.verdict == "fail"  # the planted contact details fail the PII gate
    browser.open(page["url"])
    badge = json.loads(page["badge"])
    clip = {"x": badge["x"] + 4, "y": badge["y"] + 4, "width": 2, "height": 2}
    _, _, pixels = png_pixels(browser.screenshot(clip))
    assert _near(pixels[0][0], FAIL_BADGE), pixels[0][0]
    assert page["overflow"] <= 0, "the report scrolls sideways"


def test_narrow_screen_scrolls_tables_not_the_page(page, browser: Chromium) -> None:
    browser.open(page["url"], width=420)
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert browser.evaluate(overflow) <= 0
    # The wide tables keep their columns and scroll inside their own box instead.
    assert browser.evaluate(
        "[...document.querySelectorAll('table')].some(t => t.scrollWidth > t.clientWidth)"
    )


def test_report_makes_no_network_request(page) -> None:
    assert page["requests"] == [page["url"]]
    assert page["log"] == []  # no CSP violation, no failed load


def test_network_listener_sees_requests(tmp_path: Path, browser: Chromium) -> None:
    """The instrument itself: a page without a CSP that loads an image is caught."""
    leaky = tmp_path / "leaky.html"
    leaky.write_text(f'<!DOCTYPE html><html><body><img src="{UNREACHABLE}"></body></html>')
    browser.open(leaky.as_uri())
    assert UNREACHABLE in browser.requests()


def test_report_csp_blocks_an_injected_request(
    tmp_path: Path, report: AuditResult, browser: Chromium
) -> None:
    """Were a renderer ever to emit an external reference, the page's CSP would stop it."""
    html = report.path("audit.html").read_text(encoding="utf-8")
    tampered = tmp_path / "tampered.html"
    tampered.write_text(html.replace("<body>", f'<body><img src="{UNREACHABLE}">', 1))
    browser.open(tampered.as_uri())
    assert "csp" in browser.blocked()
    assert any("Content Security Policy" in line for line in browser.log())


def test_screenshot_of_the_report(page, browser: Chromium) -> None:
    browser.open(page["url"])
    clip = {"x": 0, "y": 0, "width": WIDTH, "height": round(page["first_charts_end"]) + 16}
    # Decoding PNG in Python is slow: the content check reads a 1:10 thumbnail.
    width, height, pixels = png_pixels(browser.screenshot(clip, scale=0.1))
    assert (width, height) == (round(clip["width"] / 10), round(clip["height"] / 10))
    ink = sum(1 for row in pixels for px in row if not _near(px, (255, 255, 255), 8))
    assert ink > 0.05 * width * height  # text, tables and bars: not a blank page
    target = os.environ.get("CURATE_REPORT_SCREENSHOT")
    if target:
        shot = browser.screenshot(clip)
        assert len(shot) < 300_000, f"{len(shot)} bytes: too large for the docs"
        Path(target).write_bytes(shot)


def _walk(sections: list[document.Section]) -> Iterator[document.Section]:
    for section in sections:
        yield section
        yield from _walk(section.children)


DATASHEET = """\
motivation: Decide which loan notes need a second look by a credit officer.
collection: Loan notes written by branch staff in 2026, exported from the loan system.
uses: Triage only; never an automated credit decision.
distribution: Internal to the credit risk team.
maintenance: Credit data team
"""
SIGNED_SECTIONS = """JSON.stringify((() => {
  const top = document.querySelector('#datasheet').getBoundingClientRect().top + scrollY;
  const end = document.querySelector('#reviewer-sign-off');
  return {top: top, bottom: end.getBoundingClientRect().bottom + scrollY, text: end.innerText};
})())"""


def test_screenshot_of_a_signed_report_with_datasheet_answers(
    report: AuditResult, browser: Chromium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from curate.cli import run

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796212800")  # 2026-12-02 12:00 UTC
    folder = tmp_path / "report"
    shutil.copytree(report.report_dir, folder)
    (tmp_path / "datasheet.yaml").write_text(DATASHEET)
    assert run(["-q", "report", str(folder), "--datasheet", str(tmp_path / "datasheet.yaml")]) == 0
    signoff = ["-q", "signoff", str(folder), "--reviewer", "A. Reviewer", "--decision"]
    assert run([*signoff, "approve", "--role", "data protection officer", "--note",
                "Fine for triage; re-audit the next export."]) == 0  # fmt: skip
    browser.open((folder / "audit.html").resolve().as_uri())
    area = json.loads(browser.evaluate(SIGNED_SECTIONS))
    assert "APPROVE" in area["text"] and "A. Reviewer" in area["text"]
    assert "valid for this audit" in area["text"]
    page_text = browser.evaluate("document.body.innerText")
    assert "Decide which loan notes need a second look" in page_text
    assert "to be completed by the reviewer" in page_text  # the questions left unanswered
    clip = {
        "x": 0,
        "y": area["top"] - 8,
        "width": WIDTH,
        "height": area["bottom"] - area["top"] + 24,
    }
    width, height, pixels = png_pixels(browser.screenshot(clip, scale=0.1))
    ink = sum(1 for row in pixels for px in row if not _near(px, (255, 255, 255), 8))
    assert ink > 0.05 * width * height
    target = os.environ.get("CURATE_SIGNED_SCREENSHOT")
    if target:
        shot = browser.screenshot(clip)
        assert len(shot) < 300_000, f"{len(shot)} bytes: too large for the docs"
        Path(target).write_bytes(shot)
