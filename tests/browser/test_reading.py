"""Reading the catalog in the console: the root URL opens it on a scope holding data, images with their versions,
tags and counts, a version's every field, AppImageConfigs with their blocks, and whatever they hold shown as text."""

from selenium.webdriver.common.by import By

from support import ROLE
from support.browser import row_of, row_texts, text_of, wait_text

ACCOUNT, REGION = "123456789012", "eu-west-1"
DIGEST = "sha256:" + "ab" * 32


def test_the_root_url_opens_the_console_on_the_scope_that_holds_data(driver, serve, screenshot):
    server = serve()
    sm = server.client(access_key=ACCOUNT, region=REGION)
    sm.create_image(ImageName="pytorch", RoleArn=ROLE, DisplayName="PyTorch 2", Tags=[{"Key": "team", "Value": "ml"}])
    sm.create_image(ImageName="tensorflow", RoleArn=ROLE)
    for tag in ("1.0", "1.1"):
        sm.create_image_version(ImageName="pytorch", BaseImage=f"repo/pytorch:{tag}")
    driver.get(server.url + "/")
    wait_text(driver, "table.list tbody", "tensorflow")
    assert driver.current_url.startswith(server.url + "/_smimages/console/#/123456789012/eu-west-1/images")
    assert row_texts(driver)[0][:6] == ["pytorch", "PyTorch 2", "CREATED", "2", row_texts(driver)[0][4], "team=ml"]
    assert row_texts(driver)[1][:4] == ["tensorflow", "—", "CREATED", "0"]
    chosen = driver.find_element(By.ID, "scope-select")
    assert chosen.get_attribute("value") == "123456789012/eu-west-1"
    assert "123456789012 / eu-west-1 (2 images)" in chosen.text
    screenshot("images")


def test_an_image_shows_its_versions_with_every_field(driver, serve, screenshot):
    server = serve()
    sm = server.client(access_key=ACCOUNT, region=REGION)
    sm.create_image(ImageName="pytorch", RoleArn=ROLE, Description="Training images", DisplayName="PyTorch")
    sm.create_image_version(
        ImageName="pytorch",
        BaseImage=f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/pytorch@{DIGEST}",
        Aliases=["stable", "2.4"],
        JobType="TRAINING",
        Processor="GPU",
        MLFramework="PyTorch 2.4",
        ProgrammingLang="Python 3.11",
        Horovod=True,
        ReleaseNotes="CUDA 12.4",
        VendorGuidance="STABLE",
    )
    server.faults.fail("CreateImageVersion", "Failed to pull the image: manifest unknown")
    sm.create_image_version(ImageName="pytorch", BaseImage="repo/pytorch:missing")
    driver.get(f"{server.url}/_smimages/console/#/{ACCOUNT}/{REGION}/images/pytorch")
    wait_text(driver, "table.versions tbody", "CREATE_FAILED")
    failed, created = row_texts(driver, "table.versions")
    assert failed[:6] == [
        "2",
        "CREATE_FAILED",
        "—",
        "repo/pytorch:missing",
        "—",
        "Failed to pull the image: manifest unknown",
    ]
    assert created[:5] == [
        "1",
        "CREATED",
        "2.4\nstable",
        f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/pytorch@{DIGEST}",
        f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/pytorch@{DIGEST}",
    ]
    assert created[6].split("\n") == [
        "VendorGuidance", "STABLE", "JobType", "TRAINING", "MLFramework", "PyTorch 2.4", "ProgrammingLang",
        "Python 3.11", "Processor", "GPU", "Horovod", "true", "ReleaseNotes", "CUDA 12.4",
    ]  # fmt: skip
    assert row_of(driver, "1", "table.versions").find_element(By.CSS_SELECTOR, ".digest").text == "@" + DIGEST
    details = text_of(driver, "dl.details")
    assert "Training images" in details and f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:image/pytorch" in details
    assert text_of(driver, "#versions-title") == "Versions (2)"
    screenshot("image")


def test_app_image_configs_show_their_blocks(driver, serve, screenshot):
    server = serve()
    sm = server.client(access_key=ACCOUNT, region=REGION)
    sm.create_app_image_config(
        AppImageConfigName="jupyter-gpu",
        JupyterLabAppImageConfig={"ContainerConfig": {"ContainerArguments": ["--debug"]}},
        Tags=[{"Key": "owner", "Value": "data-science"}],
    )
    sm.create_app_image_config(
        AppImageConfigName="kernel",
        KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}]},
    )
    driver.get(f"{server.url}/_smimages/console/#/{ACCOUNT}/{REGION}/app-image-configs")
    wait_text(driver, "table.list tbody", "kernel")
    rows = row_texts(driver)
    assert [row[0] for row in rows] == ["jupyter-gpu", "kernel"]
    assert rows[0][1] == "JupyterLabAppImageConfig" and rows[0][4] == "owner=data-science"
    summary = row_of(driver, "kernel").find_element(By.CSS_SELECTOR, "details.block summary")
    summary.click()
    block = row_of(driver, "kernel").find_element(By.CSS_SELECTOR, "details.block pre").text
    assert '"Name": "python3"' in block and '"DisplayName": "Python 3"' in block
    screenshot("configs")


def test_what_the_catalog_holds_is_shown_as_text(driver, serve):
    server = serve()
    sm = server.client(access_key=ACCOUNT, region=REGION)
    script = "<script>window.pwned = 1</script>"
    markup = '<img src=x onerror="window.pwned = 2">'
    sm.create_image(ImageName="evil", RoleArn=ROLE, DisplayName=markup, Description=script)
    sm.create_image_version(ImageName="evil", BaseImage=script, ReleaseNotes=markup)
    server.faults.fail("CreateImageVersion", markup)
    sm.create_image_version(ImageName="evil", BaseImage=markup)
    driver.get(f"{server.url}/_smimages/console/#/{ACCOUNT}/{REGION}/images")
    wait_text(driver, "table.list tbody", "evil")
    assert row_texts(driver)[0][1] == markup
    driver.find_element(By.LINK_TEXT, "evil").click()
    wait_text(driver, "table.versions tbody", "ReleaseNotes")
    assert script in text_of(driver, "dl.details")
    failed, created = row_texts(driver, "table.versions")
    assert failed[3] == markup and failed[5] == markup  # BaseImage and FailureReason
    assert created[3] == script and created[4] == script and created[6] == f"ReleaseNotes\n{markup}"
    assert driver.find_elements(By.CSS_SELECTOR, "main img, main script") == []
    assert driver.execute_script("return window.pwned") is None
