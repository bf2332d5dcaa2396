"""Changing the catalog from the console: each action goes through the API's operations, so the page shows AWS's
own error codes and messages; status changes show without a reload."""

import pytest
from botocore.exceptions import ClientError
from selenium.webdriver.common.by import By

from smimages.operations.service import Settings
from support import ROLE
from support.browser import LIVE, button, confirm, fill, form_titled, message, row_of, row_texts, wait_for, wait_text

ACCOUNT, REGION = "123456789012", "us-east-1"


def open_image(driver, server, name):
    driver.get(f"{server.url}/_smimages/console/#/{ACCOUNT}/{REGION}/images/{name}")
    wait_text(driver, "h2", name)


def aws_error(call, **request) -> str:
    """'Code: message' of the error the API answers a request (botocore's own checks off)."""
    with pytest.raises(ClientError) as caught:
        call(**request)
    error = caught.value.response["Error"]
    return f"{error['Code']}: {error['Message']}"


def test_a_status_change_shows_without_a_reload(driver, serve):
    server = serve(settings=Settings(transition_delay=30))
    sm = server.client(access_key=ACCOUNT)
    sm.create_image(ImageName="live", RoleArn=ROLE)
    driver.get(f"{server.url}/_smimages/console/#/{ACCOUNT}/{REGION}/images")
    wait_text(driver, "table.list tbody", "CREATING")
    driver.execute_script("window.notReloaded = true")
    server.advance(30)
    assert wait_text(driver, 'tr[data-key="live"]', "CREATED", timeout=LIVE) < LIVE
    driver.find_element(By.LINK_TEXT, "live").click()
    wait_text(driver, "#versions-title", "Versions (0)")
    sm.create_image_version(ImageName="live", BaseImage="repo:1")
    assert wait_text(driver, "table.versions tbody", "CREATING", timeout=LIVE) < LIVE
    server.advance(30)
    assert wait_text(driver, 'tr[data-key="1"]', "CREATED", timeout=LIVE) < LIVE
    server.faults.fail("CreateImageVersion", "Failed to pull the image.")
    sm.create_image_version(ImageName="live", BaseImage="repo:2")
    server.advance(30)
    assert wait_text(driver, 'tr[data-key="2"]', "Failed to pull the image.", timeout=LIVE) < LIVE
    assert "CREATE_FAILED" in row_of(driver, "2").text
    sm.delete_image_version(ImageName="live", Version=1)
    assert wait_text(driver, 'tr[data-key="1"]', "DELETING", timeout=LIVE) < LIVE
    server.advance(30)
    wait_for(driver, lambda d: [row[0] for row in row_texts(d, "table.versions")] == ["2"], LIVE, "version 1 gone")
    assert driver.execute_script("return window.notReloaded") is True


def test_creating_an_image_shows_aws_errors(driver, serve):
    server = serve()
    raw = server.client(access_key=ACCOUNT, validate=False)
    driver.get(f"{server.url}/_smimages/console/#/{ACCOUNT}/{REGION}/images")
    form = form_titled(driver, "Create an image")
    fill(form, ImageName="bad name", RoleArn=ROLE)
    button(form, "Create image").click()
    expected = aws_error(raw.create_image, ImageName="bad name", RoleArn=ROLE)
    wait_text(driver, ".messages", expected)
    assert expected.startswith("ValidationException: 1 validation error detected: Value 'bad name' at 'imageName'")
    fill(form, ImageName="my-image", DisplayName="My image", Description="for tests")
    button(form, "Create image").click()
    wait_text(driver, 'tr[data-key="my-image"]', "CREATED")
    assert message(driver) == "Image my-image is being created."
    described = raw.describe_image(ImageName="my-image")
    assert (described["DisplayName"], described["Description"], described["RoleArn"]) == ("My image", "for tests", ROLE)
    fill(form, ImageName="my-image", RoleArn=ROLE)
    button(form, "Create image").click()
    wait_text(driver, ".messages", "ResourceInUse")
    assert message(driver) == aws_error(raw.create_image, ImageName="my-image", RoleArn=ROLE)


def test_versions_are_created_edited_and_deleted(driver, serve):
    server = serve()
    sm = server.client(access_key=ACCOUNT)
    sm.create_image(ImageName="img", RoleArn=ROLE)
    sm.create_image_version(ImageName="img", BaseImage="repo:0", Aliases=["taken"])
    open_image(driver, server, "img")
    form = form_titled(driver, "Create a version")
    fill(form, BaseImage="repo:1", Aliases="taken", JobType="TRAINING")
    button(form, "Create version").click()
    wait_text(driver, ".messages", "ValidationException")
    assert (
        message(driver)
        == "ValidationException: Alias taken is already associated with another ImageVersion of Image img."
    )
    fill(form, BaseImage="repo:1", Aliases="stable, v1", JobType="TRAINING", Processor="GPU", Horovod="true")
    fill(form, MLFramework="PyTorch 2.4", ReleaseNotes="first")
    button(form, "Create version").click()
    wait_text(driver, 'tr[data-key="2"]', "stable")
    assert message(driver) == f"Version created: arn:aws:sagemaker:{REGION}:{ACCOUNT}:image-version/img/2"
    version = sm.describe_image_version(ImageName="img", Version=2)
    assert (version["JobType"], version["Processor"], version["Horovod"], version["MLFramework"]) == (
        "TRAINING", "GPU", True, "PyTorch 2.4"
    )  # fmt: skip

    button(row_of(driver, "2", "table.versions"), "Edit").click()
    editor = form_titled(driver, "Edit version 2")
    assert editor.find_element(By.NAME, "JobType").get_attribute("value") == "TRAINING"
    editor.find_element(By.CSS_SELECTOR, 'input[value="v1"]').click()  # remove alias v1
    fill(editor, AliasesToAdd="prod", JobType="INFERENCE", ReleaseNotes="second")
    button(editor, "Save").click()
    wait_text(driver, 'tr[data-key="2"]', "prod")
    assert message(driver) == "Version 2 updated."
    assert sorted(sm.list_aliases(ImageName="img", Version=2)["SageMakerImageVersionAliases"]) == ["prod", "stable"]
    version = sm.describe_image_version(ImageName="img", Version=2)
    assert (version["JobType"], version["ReleaseNotes"], version["Processor"]) == ("INFERENCE", "second", "GPU")

    button(row_of(driver, "2", "table.versions"), "Edit").click()
    fill(form_titled(driver, "Edit version 2"), MLFramework="not a framework")
    button(form_titled(driver, "Edit version 2"), "Save").click()
    wait_text(driver, ".messages", "ValidationException")
    raw = server.client(access_key=ACCOUNT, validate=False)
    assert message(driver) == aws_error(
        raw.update_image_version, ImageName="img", Version=2, MLFramework="not a framework"
    )
    button(form_titled(driver, "Edit version 2"), "Cancel").click()

    button(row_of(driver, "1", "table.versions"), "Delete").click()
    confirm(driver, accept=False)
    assert sm.describe_image_version(ImageName="img", Version=1)["ImageVersionStatus"] == "CREATED"
    button(row_of(driver, "1", "table.versions"), "Delete").click()
    confirm(driver)
    wait_for(driver, lambda d: [row[0] for row in row_texts(d, "table.versions")] == ["2"], what="version 1 gone")
    assert [v["Version"] for v in sm.list_image_versions(ImageName="img")["ImageVersions"]] == [2]


def test_tags_are_added_and_removed_and_an_image_deleted(driver, serve):
    server = serve()
    sm = server.client(access_key=ACCOUNT)
    arn = sm.create_image(ImageName="img", RoleArn=ROLE)["ImageArn"]
    open_image(driver, server, "img")
    form = driver.find_element(By.CSS_SELECTOR, 'form[aria-label="Add a tag"]')
    fill(form, Key="team", Value="ml")
    button(form, "Add tag").click()
    wait_text(driver, "#tags-title + table", "team")
    fill(form, Key="bad#key", Value="x")
    button(form, "Add tag").click()
    wait_text(driver, ".messages", "ValidationException")
    raw = server.client(access_key=ACCOUNT, validate=False)
    assert message(driver) == aws_error(raw.add_tags, ResourceArn=arn, Tags=[{"Key": "bad#key", "Value": "x"}])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    button(driver.find_element(By.CSS_SELECTOR, "#tags-title + table"), "Remove").click()
    wait_text(driver, ".messages", "Tag team removed.")
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []

    button(driver, "Delete image").click()
    confirm(driver)
    wait_text(driver, "main", "This image does not exist (any more).")
    assert sm.list_images()["Images"] == []
