"""The test controls in the console (servers with --enable-admin), and its security: sign-in with a key of the
credentials file before anything shows, an HttpOnly SameSite=Strict session cookie, and no way to another
account's resources by editing the address."""

import json
import time

import boto3
from selenium.webdriver.common.by import By

from smimages.auth import AccessKey, SignatureVerifier
from smimages.operations.service import Settings
from support import ROLE
from support.browser import button, confirm, fill, form_titled, row_texts, text_of, wait_for, wait_text

ACCOUNT, REGION = "123456789012", "us-east-1"
KEYS = {
    "AKIDTEAMA": AccessKey("AKIDTEAMA", "secret-of-team-a", "111111111111"),
    "AKIDTEAMB": AccessKey("AKIDTEAMB", "secret-of-team-b", "222222222222", frozenset({"eu-west-1"})),
}


def test_the_test_controls_move_time_arm_faults_and_move_the_catalog(driver, serve, screenshot, tmp_path):
    server = serve(settings=Settings(transition_delay=60))
    sm = server.client(access_key=ACCOUNT)
    sm.create_image(ImageName="img", RoleArn=ROLE)
    driver.get(f"{server.url}/_smimages/console/#/controls")
    wait_text(driver, "h2", "Test controls")
    clock = driver.find_element(By.CSS_SELECTOR, 'form[aria-label="Clock"]')
    fill(clock, seconds="60")
    button(clock, "Advance the clock").click()
    wait_text(driver, ".messages", "The clock moved 60 s ahead.")
    assert sm.describe_image(ImageName="img")["ImageStatus"] == "CREATED"
    sm.create_image_version(ImageName="img", BaseImage="repo:1")
    button(clock, "Settle").click()
    wait_text(driver, ".messages", "Every pending transition is done.")
    assert sm.describe_image_version(ImageName="img")["ImageVersionStatus"] == "CREATED"

    arm = form_titled(driver, "Arm a fault")
    fill(arm, type="fail", operation="CreateImageVersion", reason="Injected: no such manifest")
    button(arm, "Arm fault").click()
    wait_text(driver, ".messages", "Armed fault-1.")
    fill(arm, type="error", operation="DeleteImage", code="ThrottlingException", message="Rate exceeded", count="")
    button(arm, "Arm fault").click()
    wait_text(driver, "table.list tbody", "fault-2")
    rows = row_texts(driver)
    assert rows[0][:6] == ["fault-1", "fail", "CreateImageVersion", "*", "1", "0"]
    assert rows[1][:5] == ["fault-2", "error", "DeleteImage", "*", "every call"]
    assert rows[1][6] == "ThrottlingException: Rate exceeded"
    screenshot("controls")
    sm.create_image_version(ImageName="img", BaseImage="repo:2")
    server.settle()
    assert sm.describe_image_version(ImageName="img", Version=2)["FailureReason"] == "Injected: no such manifest"
    wait_for(driver, lambda d: [row[0] for row in row_texts(d)] == ["fault-2"], what="fault-1 used up")
    button(driver, "Clear all faults").click()
    wait_text(driver, ".messages", "Removed 1 faults.")
    assert server.faults.list() == []

    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    button(driver, "Export the catalog").click()
    exported = tmp_path / "smimages-catalog.json"
    wait_for(driver, lambda d: exported.exists() and exported.stat().st_size > 0, what="the download")
    document = json.loads(exported.read_text())
    assert [image["name"] for image in document["images"]] == ["img"]
    document["images"][0]["name"] = "imported"
    source = tmp_path / "catalog.json"
    source.write_text(json.dumps(document))
    driver.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(source))
    button(driver, "Import (replaces the catalog)").click()
    confirm(driver)
    wait_text(driver, ".messages", "Imported 1 images.")
    assert [image["ImageName"] for image in sm.list_images()["Images"]] == ["imported"]


def _client(server, key_id: str, region: str):
    key = KEYS[key_id]
    return boto3.client(
        "sagemaker",
        endpoint_url=server.url,
        region_name=region,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
    )


def _status(driver, path: str, method: str = "GET", body: dict | None = None) -> int:
    """The HTTP status the console's server answers a request the page makes (with its CSRF token)."""
    script = """
        const [path, method, body, done] = arguments;
        const session = await (await fetch("api/session")).json();
        const options = {method, headers: {"Content-Type": "application/json", "X-CSRF-Token": session.csrfToken}};
        if (body) options.body = JSON.stringify(body);
        done((await fetch(path, options)).status);
    """
    return driver.execute_async_script(f"(async () => {{ {script} }})(...arguments)", path, method, body)


def sign_in(driver, key_id: str, secret: str) -> None:
    form = driver.find_element(By.CSS_SELECTOR, "form.signin")
    fill(form, accessKeyId=key_id, secretAccessKey=secret)
    button(form, "Sign in").click()


def test_nothing_shows_before_sign_in_and_other_accounts_stay_out_of_reach(driver, serve, screenshot):
    server = serve(auth=SignatureVerifier(KEYS))
    _client(server, "AKIDTEAMA", "us-east-1").create_image(ImageName="team-a-image", RoleArn=ROLE)
    _client(server, "AKIDTEAMB", "eu-west-1").create_image(ImageName="team-b-image", RoleArn=ROLE)
    driver.get(server.url + "/")
    wait_text(driver, "h2", "Sign in")
    assert "team-a-image" not in driver.page_source and "team-b-image" not in driver.page_source
    assert _status(driver, "api/scopes") == 401
    call = {"account": "111111111111", "region": "us-east-1", "calls": [{"operation": "ListImages"}]}
    assert _status(driver, "api/call", "POST", call) == 401
    screenshot("signin")

    sign_in(driver, "AKIDTEAMA", "secret-of-team-b")
    wait_text(driver, ".messages", "SignInRefused: The access key ID or the secret access key is not valid.")
    sign_in(driver, "AKIDTEAMA", "secret-of-team-a")
    wait_text(driver, "table.list tbody", "team-a-image")
    assert "AKIDTEAMA" in text_of(driver, "#who") and "account 111111111111" in text_of(driver, "#who")
    options = [o.text for o in driver.find_elements(By.CSS_SELECTOR, "#scope-select option")]
    assert options == ["111111111111 / us-east-1 (1 image)"]
    [cookie] = [c for c in driver.get_cookies() if c["name"] == "smimages_console"]
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/_smimages/console/")
    assert 8 * 3600 - 60 < cookie["expiry"] - time.time() <= 8 * 3600
    assert "smimages_console" not in driver.execute_script("return document.cookie")

    driver.get(f"{server.url}/_smimages/console/#/222222222222/eu-west-1/images")
    wait_text(driver, ".messages", "AccessDenied: This session cannot see account 222222222222 in region eu-west-1.")
    driver.get(f"{server.url}/_smimages/console/#/111111111111/eu-west-1/images/team-b-image")
    wait_text(driver, "main", "This image does not exist (any more).")
    assert "team-b-image" not in text_of(driver, "table.versions")
    assert _status(driver, "api/call", "POST", {**call, "account": "222222222222", "region": "eu-west-1"}) == 403

    button(driver, "Sign out").click()
    wait_text(driver, "h2", "Sign in")
    assert _status(driver, "api/scopes") == 401
    sign_in(driver, "AKIDTEAMB", "secret-of-team-b")
    wait_text(driver, "table.list tbody", "team-b-image")  # the address named team A's account: B's own opens
    driver.get(f"{server.url}/_smimages/console/#/222222222222/us-east-1/images")
    wait_text(driver, ".messages", "AccessDenied: This session cannot see account 222222222222 in region us-east-1.")
