"""The ``--report`` HTML page, opened in real headless Chromium (Debian's ``chromium``)."""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, run_cowlint

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the verifier measures through /proc (Linux)")


def _browser_or_skip() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: the README's test command installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def _line_pixels(png: bytes, color: tuple[int, int, int]) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    pixels = image.load()
    assert pixels is not None
    count = 0
    for x in range(width):
        for y in range(height):
            red, green, blue = pixels[x, y]
            if abs(red - color[0]) < 40 and abs(green - color[1]) < 40 and abs(blue - color[2]) < 40:
                count += 1
    return count


def test_html_report_renders_the_chart_in_chromium(tmp_path: Path) -> None:
    browser = _browser_or_skip()
    page_path = tmp_path / "report.html"
    done = run_cowlint("--verify", str(FIXTURES / "verify" / "gc_collect.py"), "--compare", "freeze", "--report", str(page_path), "--", "300000", timeout=240)
    assert done.returncode == 0, done.stderr
    page_html = page_path.read_text(encoding="utf-8")
    # self-contained: nothing is loaded; the one inline script (it sorts the tables) runs by its hash only
    assert page_html.count("<script") == 1 and "<script src" not in page_html and "script-src 'sha256-" in page_html
    assert "http://" not in page_html.replace("http://www.w3.org/2000/svg", "")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=browser,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            page = chromium.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
            page.goto(page_path.as_uri())
            charts = page.locator("svg.chart")
            assert charts.count() == 2  # one per run, on one scale
            assert page.locator("svg.chart[data-run='baseline'] path.series").count() == 2
            assert page.locator("svg.chart[data-run='freeze'] path.series").count() == 2
            labels = [charts.nth(number).locator("text").all_text_contents() for number in range(2)]
            assert labels[0] == labels[1]  # the same axes: the freeze run's lines are comparable at a glance
            box = charts.first.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 150
            shot = charts.first.screenshot(path=str(tmp_path / "chart.png"))
            # the tables are tables, the copied objects per worker among them, and clicking a header sorts
            captions = page.locator("table caption").all_text_contents()
            assert any(caption.startswith("Call sites") for caption in captions) and any(caption.startswith("Copied objects") for caption in captions), captions
            objects = page.locator("table", has=page.locator("caption", has_text="Copied objects"))
            headers = objects.locator("th").all_text_contents()
            assert sum(header.startswith("copied by ") for header in headers) == 2, headers
            assert "ROWS" in objects.locator("tbody tr").first.inner_text()
            processes = page.locator("table", has=page.locator("caption", has_text="Processes"))
            column = next(number for number, header in enumerate(processes.locator("th").all_text_contents()) if header == "peak private")
            processes.locator("th").nth(column).click()

            def peaks() -> list[float]:
                cells = processes.locator("tbody tr").evaluate_all(f"rows => rows.map(row => parseFloat(row.cells[{column}].dataset.sort))")
                return [float(cell) for cell in cells]

            assert peaks() == sorted(peaks(), reverse=True)
            processes.locator("th").nth(column).click()
            assert peaks() == sorted(peaks())
            # findings link to their rule pages, and what the run confirmed stands out
            link = page.locator("tr.confirmed a", has_text="COW301")
            assert link.count() == 1 and link.get_attribute("href").endswith("/docs/rules/COW301.md")  # type: ignore[union-attr]
            page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        finally:
            chromium.close()
    assert problems == []
    # the first two series are drawn in blue and red: the lines are on the screen, not just in the markup
    assert _line_pixels(shot, (0x1F, 0x6F, 0xEB)) > 100
    assert _line_pixels(shot, (0xD1, 0x24, 0x2F)) > 100
