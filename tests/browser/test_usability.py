"""The console is usable: readable in a narrow window, keyboard navigable with visible focus, statuses in word and
colour, times local with UTC on hover, an AWS CLI command per resource that works as shown; and its pages stay
fast on an image with 100,000 versions."""

import datetime
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from benchmarks.seed import create_image, grow_versions
from smimages.operations.service import Settings
from support import ROLE
from support.browser import button, row_keys, row_of, text_of, wait_for, wait_text

ACCOUNT, REGION = "123456789012", "us-east-1"


def test_a_narrow_window_shows_each_row_as_a_labelled_card(driver, serve, screenshot):
    server = serve()
    sm = server.client(access_key=ACCOUNT)
    sm.create_image(ImageName="pytorch", RoleArn=ROLE, DisplayName="PyTorch", Tags=[{"Key": "team", "Value": "ml"}])
    sm.create_image_version(ImageName="pytorch", BaseImage="repo/pytorch:2.4", Aliases=["stable"], JobType="TRAINING")
    # a phone's width (a window cannot be made narrower than 500 pixels)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": False}
    )
    driver.get(f"{server.url}/_smimages/console/#/{ACCOUNT}/{REGION}/images/pytorch")
    wait_text(driver, "table.versions tbody", "stable")
    row = row_of(driver, "1", "table.versions")
    assert row.value_of_css_property("display") == "block"
    header = driver.find_element(By.CSS_SELECTOR, "table.versions thead")
    assert header.value_of_css_property("position") == "absolute" and header.size["height"] <= 1  # for readers only
    cell = row.find_element(By.CSS_SELECTOR, 'td[data-label="BaseImage"]')
    label = driver.execute_script("return getComputedStyle(arguments[0], '::before').content", cell)
    assert label == '"BaseImage"'
    page_width = driver.execute_script("return document.documentElement.scrollWidth")
    assert page_width <= driver.execute_script("return window.innerWidth")  # nothing runs off the side
    screenshot("narrow")


def test_the_keyboard_reaches_everything_with_visible_focus(driver, serve):
    server = serve()
    server.client(access_key=ACCOUNT).create_image(ImageName="pytorch", RoleArn=ROLE)
    driver.get(f"{server.url}/_smimages/console/#/{ACCOUNT}/{REGION}/images")
    wait_text(driver, "table.list tbody", "pytorch")
    body = driver.find_element(By.TAG_NAME, "body")
    for _ in range(40):
        body.send_keys(Keys.TAB)
        focused = driver.switch_to.active_element
        if focused.text == "pytorch":
            break
    else:
        raise AssertionError("the image's link is not reachable with Tab")
    assert driver.execute_script("return getComputedStyle(arguments[0]).outlineStyle", focused) != "none"
    focused.send_keys(Keys.ENTER)
    wait_text(driver, "h2", "Image pytorch")
    assert driver.switch_to.active_element.get_attribute("id") == "page-title"  # focus follows the navigation
    button(driver, "Delete image").send_keys(Keys.ENTER)
    wait_for(driver, lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is not None, 5, "the dialog")
    assert driver.switch_to.active_element.text == "Cancel"  # the safe answer is the default
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_for(driver, lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is None, 5, "the dialog closed")
    assert server.client(access_key=ACCOUNT).describe_image(ImageName="pytorch")["ImageStatus"] == "CREATED"


def test_statuses_times_and_cli_commands(driver, serve, tmp_path):
    server = serve(settings=Settings(transition_delay=30))
    sm = server.client(access_key=ACCOUNT)
    sm.create_image(ImageName="done", RoleArn=ROLE)
    server.settle()
    server.faults.fail("CreateImage", "no")
    sm.create_image(ImageName="failed", RoleArn=ROLE)
    server.advance(30)
    sm.create_image(ImageName="pending", RoleArn=ROLE)
    driver.get(f"{server.url}/_smimages/console/#/{ACCOUNT}/{REGION}/images")
    wait_text(driver, "table.list tbody", "CREATE_FAILED")
    colours = set()
    for name, word in (("done", "CREATED"), ("failed", "CREATE_FAILED"), ("pending", "CREATING")):
        badge = row_of(driver, name).find_element(By.CSS_SELECTOR, ".status")
        assert badge.text == word
        colours.add(badge.value_of_css_property("background-color"))
    assert len(colours) == 3

    modified = sm.describe_image(ImageName="done")["LastModifiedTime"]
    shown = row_of(driver, "done").find_element(By.CSS_SELECTOR, "time")
    utc = modified.astimezone(datetime.UTC)
    assert shown.get_attribute("title") == f"UTC: {utc:%Y-%m-%d %H:%M:%S}" + (
        f".{utc.microsecond // 1000:03d}Z" if utc.microsecond // 1000 else "Z"
    )
    local = driver.execute_script("return new Date(arguments[0]).toLocaleString()", modified.timestamp() * 1000)
    assert shown.text == local

    row_of(driver, "done").find_element(By.CSS_SELECTOR, "details.cli summary").click()
    command = row_of(driver, "done").find_element(By.CSS_SELECTOR, "code.command").text
    assert command == f"aws sagemaker describe-image --image-name done --region {REGION} --endpoint-url {server.url}"
    aws = Path(sys.executable).with_name("aws")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCOUNT,
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }
    done = subprocess.run([str(aws), *shlex.split(command)[1:]], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"ImageName": "done"' in done.stdout


def test_an_image_with_100000_versions_pages_quickly(driver, serve, tmp_path):
    url = f"sqlite:///{tmp_path}/large.db"
    create_image(url, "large")  # account 000000000000, the in-process default
    grow_versions(url, "large", 100_000)
    server = serve(db=url)
    started = time.monotonic()
    driver.get(f"{server.url}/_smimages/console/#/000000000000/{REGION}/images/large")
    wait_text(driver, "#versions-title", "Versions (100000)")
    wait_for(driver, lambda d: len(row_keys(d, "table.versions")) == 25, what="the first page")
    assert time.monotonic() - started < 5
    assert row_keys(driver, "table.versions")[:2] == ["100000", "99999"]
    slowest = driver.execute_script(
        "return Math.max(...performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/api/')).map(e => e.duration))"
    )
    assert slowest < 1000, f"a console request took {slowest:.0f} ms"
    started = time.monotonic()
    button(driver, "Next").click()
    wait_for(driver, lambda d: row_keys(d, "table.versions")[0] == "99975", what="the second page")
    assert time.monotonic() - started < 2
    jump = driver.find_element(By.NAME, "version")
    jump.send_keys("12345", Keys.ENTER)
    wait_for(driver, lambda d: row_keys(d, "table.versions") == ["12345"], what="version 12345")
    driver.get(f"{server.url}/_smimages/console/#/000000000000/{REGION}/images")
    wait_text(driver, 'tr[data-key="large"]', "100000")
    assert "100000" in text_of(driver, 'tr[data-key="large"] td[data-label="Versions"]')
