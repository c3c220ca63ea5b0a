"""The HTML reports in a real browser (Debian's Chromium through chromedriver), opened from file:// with no server:
no console errors, every <audio> has metadata with the WAV's duration, every image decodes, every link resolves.
A full-page screenshot of each page is saved under ``artifacts/report-browser/`` (or $ARTIFACTS_DIR)."""

import base64
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import soundfile as sf

from tests.report.conftest import REPO

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", REPO / "artifacts")) / "report-browser"


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        pytest.fail("chromium and chromium-driver are not installed; run `bash scripts/install_system.sh` as root")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,900", "--allow-file-access-from-files"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def full_page_screenshot(driver, path: Path) -> None:
    width, height = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def check_page(driver, page: Path) -> dict:
    """Loads ``page`` and checks everything it shows; returns counts of what was checked."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && [...document.images].every(i => i.complete) && "
        "[...document.querySelectorAll('audio')].every(a => a.readyState >= 1 || a.error)"))
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{page}: console errors {errors}"

    audio = driver.execute_script(
        "return [...document.querySelectorAll('audio')].map(a => [a.currentSrc, a.readyState, a.duration, "
        "a.error && a.error.code])")
    for src, ready, duration, error in audio:
        assert error is None and ready >= 1, f"{page}: {src} did not load (readyState {ready}, error {error})"
        wav = Path(unquote(urlparse(src).path))
        expected = sf.info(wav).duration
        assert abs(duration - expected) <= 0.01 * expected, f"{src}: browser says {duration} s, file {expected} s"

    images = driver.execute_script("return [...document.images].map(i => [i.currentSrc, i.naturalWidth])")
    assert all(width > 0 for _, width in images), f"{page}: images that did not decode: {images}"

    links = driver.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)")
    for link in links:
        parsed = urlparse(link)
        assert parsed.scheme == "file", f"{page}: link {link} leaves the report (relative links only)"
        assert Path(unquote(parsed.path)).exists(), f"{page}: broken link {link}"
    full_page_screenshot(driver, ARTIFACTS / f"{page.parent.name}-{page.stem}.png")
    return {"audio": len(audio), "images": len(images), "links": len(links)}


def test_site_index_and_toy_page_in_chromium(browser, toy_reports):
    index = check_page(browser, toy_reports / "index.html")
    assert index["links"] >= 1  # the toy's row links to its page
    toy = check_page(browser, toy_reports / "tests.toy_task" / "index.html")
    assert toy == {"audio": 3, "images": 4, "links": toy["links"]} and toy["links"] >= 5
    assert (ARTIFACTS / "tests.toy_task-index.png").stat().st_size > 10_000

