"""The browser tier: the console driven in Debian's headless Chromium by Selenium (both installed with apt-get when
missing; nothing is downloaded at test time), against servers started in this process."""

import base64
import os
import tempfile
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from support import ROOT
from support.debian import ensure_command

PACKAGES = ("chromium", "chromium-driver")
WIDTH, HEIGHT = 1280, 800
# Where the tests save the screenshots docs/console.md shows, when asked to: SMIMAGES_SCREENSHOTS=docs/console
SCREENSHOTS = os.environ.get("SMIMAGES_SCREENSHOTS")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole tier, with a profile of its own and no network of its own."""
    chromium = ensure_command("chromium", PACKAGES)
    chromedriver = ensure_command("chromedriver", PACKAGES)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never try to download a driver or a browser
    profile = tempfile.TemporaryDirectory(prefix="smimages-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",  # the machine's network is closed: background lookups would hang
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        f"--user-data-dir={profile.name}",
        f"--window-size={WIDTH},{HEIGHT}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    profile.cleanup()


@pytest.fixture
def driver(browser):
    """The browser at its normal size, on a blank page, with no cookies from an earlier test."""
    browser.set_window_size(WIDTH, HEIGHT)
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.get("about:blank")
    browser.delete_all_cookies()


@pytest.fixture
def screenshot(driver):
    """screenshot(name): saves the whole page, as wide as the window, as <SMIMAGES_SCREENSHOTS>/<name>.png when
    that is set."""

    def take(name: str) -> None:
        if not SCREENSHOTS:
            return
        folder = Path(SCREENSHOTS) if Path(SCREENSHOTS).is_absolute() else ROOT / SCREENSHOTS
        folder.mkdir(parents=True, exist_ok=True)
        width, height = driver.execute_script("return [window.innerWidth, document.documentElement.scrollHeight]")
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
        )
        (folder / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))

    return take


@pytest.fixture
def serve():
    """serve(**ServerThread arguments): a started server with the console on, stopped after the test."""
    from smimages.testing import ServerThread

    started = []

    def start(**kwargs):
        server = ServerThread(console=True, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
