"""Seed and snapshot: dump/load and `smimages export` / `smimages import` round-trip the whole catalog exactly."""

import json

import pytest
from click.testing import CliRunner

from smimages.cli import main
from smimages.snapshot import SnapshotError
from smimages.testing import mock_sagemaker_images
from support import BASE, ROLE, strip

SEED = {
    "format": "smimages-catalog",
    "version": 1,
    "images": [
        {
            "name": "base",
            "role_arn": ROLE,
            "description": "seeded",
            "tags": [{"Key": "team", "Value": "ml"}],
            "versions": [
                {"version": 1, "base_image": BASE, "aliases": ["stable"]},
                {"version": 3, "base_image": BASE, "status": "CREATE_FAILED", "failure_reason": "No pull."},
            ],
        },
        {"name": "eu", "role_arn": ROLE, "account": "123456789012", "region": "eu-west-1", "created_at": 1_700_000_000},
    ],
}


def build_catalog(sm) -> None:
    """A catalog with every kind of state: two accounts and regions, tags, aliases, failed and pending lifecycles,
    a deleted newest version (next_version ahead of the highest number)."""
    client = sm.client()
    client.create_image(
        ImageName="Img",
        RoleArn=ROLE,
        Description="d",
        DisplayName="Image",
        Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}],
    )
    client.create_image(ImageName="other", RoleArn=ROLE)
    sm.settle()
    sm.faults.fail("CreateImageVersion", "Failed to pull the container image.", base_image="*:broken")
    client.create_image_version(
        ImageName="Img",
        BaseImage=BASE,
        Aliases=["latest", "prod"],
        JobType="TRAINING",
        Horovod=True,
        MLFramework="PyTorch 2.1",
        ReleaseNotes="first",
    )
    client.create_image_version(ImageName="Img", BaseImage=BASE.replace("latest", "broken"))
    client.create_image_version(ImageName="Img", BaseImage=BASE)
    client.create_image_version(ImageName="Img", BaseImage=BASE)
    sm.settle()
    client.delete_image_version(ImageName="Img", Version=4)
    sm.settle()
    client.delete_image_version(ImageName="Img", Version=3)  # still DELETING when dumped
    client.update_image(ImageName="other", Description="changing")  # still UPDATING
    eu = sm.client(access_key="123456789012", region="eu-west-1")
    eu.create_image(ImageName="Img", RoleArn=ROLE)  # still CREATING
    kernel = {"KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}], "FileSystemConfig": {"DefaultUid": 0}}
    client.create_app_image_config(
        AppImageConfigName="cfg", KernelGatewayImageConfig=kernel, Tags=[{"Key": "team", "Value": "ml"}]
    )
    client.create_app_image_config(AppImageConfigName="bare")
    sm.advance(1)
    client.update_app_image_config(
        AppImageConfigName="bare",
        JupyterLabAppImageConfig={"ContainerConfig": {"ContainerEnvironmentVariables": {"A": "1"}}},
    )
    eu.create_app_image_config(AppImageConfigName="cfg")


def observed(sm) -> dict:
    """What clients see of a catalog, whole responses."""
    views = {}
    for key, client in (("us", sm.client()), ("eu", sm.client(access_key="123456789012", region="eu-west-1"))):
        images = strip(client.list_images(SortBy="IMAGE_NAME", SortOrder="ASCENDING"))
        views[key] = {"images": images, "versions": {}, "aliases": {}, "tags": {}}
        for image in images["Images"]:
            name = image["ImageName"]
            views[key]["versions"][name] = strip(client.list_image_versions(ImageName=name))
            views[key]["aliases"][name] = strip(client.list_aliases(ImageName=name))
            views[key]["tags"][name] = strip(client.list_tags(ResourceArn=image["ImageArn"]))
        configs = strip(client.list_app_image_configs(SortBy="Name"))
        views[key]["configs"] = configs
        for config in configs["AppImageConfigs"]:
            views[key]["tags"][config["AppImageConfigArn"]] = strip(
                client.list_tags(ResourceArn=config["AppImageConfigArn"])
            )
    return views


@pytest.mark.smimages(transition_delay=30)
def test_dump_load_dump_is_exact(smimages, tmp_path):
    build_catalog(smimages)
    first = smimages.dump(tmp_path / "catalog.json")
    assert json.loads((tmp_path / "catalog.json").read_text()) == first
    with mock_sagemaker_images(transition_delay=30, clock=type(smimages.clock)(smimages.now())) as fresh:
        assert fresh.load(tmp_path / "catalog.json") == 3
        assert fresh.dump() == first
        assert observed(fresh) == observed(smimages)
        fresh.client().create_image_version(ImageName="Img", BaseImage=BASE)  # numbering continues: 5
        assert fresh.dump()["images"][0]["versions"][-1]["version"] == 5
    img = first["images"][0]
    assert (img["name"], img["next_version"], [t["Key"] for t in img["tags"]]) == ("Img", 4, ["b", "a"])
    assert [(v["version"], v["status"], v["pending_status"], v["aliases"]) for v in img["versions"]] == [
        (1, "CREATED", None, ["latest", "prod"]),
        (2, "CREATE_FAILED", None, []),
        (3, "DELETING", "GONE", []),
    ]
    assert [(c["account"], c["name"], c["tags"]) for c in first["app_image_configs"]] == [
        ("000000000000", "cfg", [{"Key": "team", "Value": "ml"}]),
        ("000000000000", "bare", []),
        ("123456789012", "cfg", []),
    ]


def test_a_name_edited_in_an_export_renames(smimages):
    """An export holds no derived name keys: changing a name in the document is all a rename takes."""
    build_catalog(smimages)
    document = smimages.dump()
    assert not any("name_key" in entry for entry in document["images"] + document["app_image_configs"])
    document["images"][0]["name"] = "Renamed"
    document["app_image_configs"][0]["name"] = "renamed-config"
    smimages.load(document)
    sm = smimages.client()
    assert sm.describe_image(ImageName="Renamed")["ImageName"] == "Renamed"
    with pytest.raises(sm.exceptions.ResourceInUse):  # its name key is the new name's
        sm.create_image(ImageName="renamed", RoleArn=ROLE)
    assert sm.describe_app_image_config(AppImageConfigName="renamed-config")["AppImageConfigName"] == "renamed-config"


def test_seed_fills_what_a_hand_written_catalog_leaves_out(smimages):
    smimages.load(SEED)
    client = smimages.client()
    image = client.describe_image(ImageName="base")
    assert (image["ImageStatus"], image["Description"]) == ("CREATED", "seeded")
    assert client.describe_image_version(ImageName="base", Alias="stable")["ContainerImage"] == BASE
    failed = client.describe_image_version(ImageName="base")
    assert (failed["Version"], failed["ImageVersionStatus"], failed["FailureReason"]) == (
        3,
        "CREATE_FAILED",
        "No pull.",
    )
    assert client.create_image_version(ImageName="base", BaseImage=BASE)["ImageVersionArn"].endswith("/base/4")
    eu = smimages.client(access_key="123456789012", region="eu-west-1")
    assert eu.describe_image(ImageName="eu")["CreationTime"].timestamp() == 1_700_000_000
    assert client.list_tags(ResourceArn=image["ImageArn"])["Tags"] == [{"Key": "team", "Value": "ml"}]


def test_a_seeded_app_image_config(smimages):
    kernel = {"KernelSpecs": [{"Name": "python3"}]}
    smimages.load(
        {
            **SEED,
            "app_image_configs": [
                {
                    "name": "cfg",
                    "kernel_gateway": kernel,
                    "created_at": 1_700_000_000,
                    "tags": [{"Key": "team", "Value": "ml"}],
                }
            ],
        }
    )
    described = smimages.client().describe_app_image_config(AppImageConfigName="cfg")
    assert (described["KernelGatewayImageConfig"], described["LastModifiedTime"].timestamp()) == (kernel, 1_700_000_000)
    assert smimages.client().list_tags(ResourceArn=described["AppImageConfigArn"])["Tags"] == [
        {"Key": "team", "Value": "ml"}
    ]


@pytest.mark.smimages(seed=SEED)
def test_the_marker_seeds_the_fixture(sagemaker_client):
    assert [i["ImageName"] for i in sagemaker_client.list_images()["Images"]] == ["base"]


def test_load_replaces_and_reset_empties(smimages):
    smimages.client().create_image(ImageName="gone", RoleArn=ROLE)
    smimages.faults.throttle()
    smimages.load(SEED)
    assert [i["name"] for i in smimages.dump()["images"]] == ["base", "eu"]
    with pytest.raises(SnapshotError, match="not empty"):
        smimages.load(SEED, replace=False)
    smimages.reset()
    assert smimages.dump()["images"] == [] and smimages.faults.list() == []


@pytest.mark.parametrize(
    "document, message",
    [
        ({"format": "other"}, "not an smimages catalog"),
        ({"format": "smimages-catalog", "version": 2}, "version 2 is not 1"),
        ({"format": "smimages-catalog", "version": 1, "images": [{"name": "x"}]}, r"images\[0\] lacks role_arn"),
        (
            {"format": "smimages-catalog", "version": 1, "images": [{"name": "x", "role_arn": ROLE, "color": 1}]},
            r"images\[0\] has unknown fields: color",
        ),
        (
            {"format": "smimages-catalog", "version": 1, "images": [{"name": "x", "role_arn": ROLE, "versions": [{}]}]},
            r"images\[0\]\.versions\[0\] lacks version, base_image",
        ),
        (
            {"format": "smimages-catalog", "version": 1, "images": [{"name": "x", "role_arn": ROLE, "tags": ["k"]}]},
            "tags must be a list",
        ),
        (
            {
                "format": "smimages-catalog",
                "version": 1,
                "images": [{"name": "x", "role_arn": ROLE}, {"name": "X", "role_arn": ROLE}],
            },
            "uniqueness rule",
        ),
        (
            {"format": "smimages-catalog", "version": 1, "app_image_configs": [{"name": "c", "color": 1}]},
            r"app_image_configs\[0\] has unknown fields: color",
        ),
        ({"format": "smimages-catalog", "version": 1, "app_image_configs": [{}]}, r"app_image_configs\[0\] lacks name"),
        ({"format": "smimages-catalog", "version": 1, "app_image_configs": {}}, "app_image_configs must be a list"),
        (
            {"format": "smimages-catalog", "version": 1, "app_image_configs": [{"name": "c", "kernel_gateway": {}}]},
            r"app_image_configs\[0\]: 1 validation error detected: "
            r"Value null at 'kernelGatewayImageConfig\.kernelSpecs' failed to satisfy constraint: "
            "Member must not be null",
        ),
    ],
)
def test_documents_that_are_not_catalogs_are_refused(smimages, document, message):
    smimages.client().create_image(ImageName="kept", RoleArn=ROLE)
    with pytest.raises(SnapshotError, match=message):
        smimages.load(document)
    assert [i["name"] for i in smimages.dump()["images"]] == ["kept"]  # nothing changed


def test_cli_export_and_import(tmp_path, smimages):
    build_catalog(smimages)
    expected = smimages.dump(tmp_path / "catalog.json")
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'state.db'}"
    result = runner.invoke(main, ["import", str(tmp_path / "catalog.json"), "--db", db])
    assert result.exit_code == 0, result.output
    assert result.output == "imported 3 images\n"
    result = runner.invoke(main, ["export", "--db", db])
    assert result.exit_code == 0 and json.loads(result.output) == expected
    result = runner.invoke(main, ["export", "--db", db, "-o", str(tmp_path / "again.json")])
    assert (tmp_path / "again.json").read_text() == (tmp_path / "catalog.json").read_text()
    result = runner.invoke(main, ["import", str(tmp_path / "catalog.json"), "--db", db])
    assert result.exit_code == 1 and "the catalog is not empty" in result.output
    result = runner.invoke(main, ["import", "-", "--db", db, "--replace"], input=json.dumps(SEED))
    assert result.exit_code == 0 and result.output == "imported 2 images\n"
    (tmp_path / "bad.json").write_text("{")
    result = runner.invoke(main, ["import", str(tmp_path / "bad.json"), "--db", db])
    assert result.exit_code == 1 and "cannot read" in result.output


def test_round_trip_across_backends(pg_url):
    """A catalog dumped from SQLite loads into PostgreSQL (and back) unchanged."""
    with mock_sagemaker_images(transition_delay=30) as lite:
        build_catalog(lite)
        document = lite.dump()
        clock = type(lite.clock)(lite.now())
        with mock_sagemaker_images(db=pg_url, transition_delay=30, clock=clock) as pg:
            assert pg.load(document) == 3
            assert pg.dump() == document
            assert observed(pg) == observed(lite)
