"""Account and region isolation: another (account, region) sees a catalog exactly as if this one's were empty.

Each test is differential: the same sequence of all 14 operations, run from a probing scope, must give identical
responses on a service where the owner scope holds images, versions, aliases and tags, and on a control service
where it holds nothing; and the owner's resources must come out of it unchanged."""

import pytest
from botocore.exceptions import ClientError

from smimages.auth import AccessKey, SignatureVerifier
from smimages.testing import InProcess
from support import BASE, ROLE

OWNER = ("111111111111", "us-east-1")
PROBERS = {
    "same-account-other-region": ("111111111111", "eu-west-1"),
    "other-account-same-region": ("222222222222", "us-east-1"),
    "other-account-other-region": ("222222222222", "eu-west-1"),
}
# In sigv4 mode the account comes from the credentials file, so the key ids deliberately name no account.
KEY_OF = {"111111111111": "AKIDFIRSTACCOUNT", "222222222222": "AKIDSECONDACCOUNT"}
VERIFIER_KEYS = {key: AccessKey(key, "secret", account) for account, key in KEY_OF.items()}


def arn(scope, resource: str) -> str:
    account, region = scope
    return f"arn:aws:sagemaker:{region}:{account}:{resource}"


@pytest.fixture(params=["auth-off", "sigv4"])
def auth_mode(request):
    return request.param


def make_client(svc: InProcess, auth_mode: str, scope):
    account, region = scope
    if auth_mode == "sigv4":
        svc.app.auth = SignatureVerifier(VERIFIER_KEYS)
        return svc.client(access_key=KEY_OF[account], region=region)  # InProcess clients sign with "secret"
    return svc.client(access_key=account, region=region)


@pytest.fixture
def control(db_url, request):
    """A second, empty service on the same kind of database."""
    url = request.getfixturevalue("postgres").schema() if db_url.startswith("postgresql") else "sqlite://"
    svc = InProcess(url)
    yield svc
    svc.close()


def populate(sm) -> None:
    sm.create_image(ImageName="img", RoleArn=ROLE, Description="owner's", Tags=[{"Key": "team", "Value": "a"}])
    sm.create_image(ImageName="other", RoleArn=ROLE)
    sm.create_image_version(ImageName="img", BaseImage=BASE, Aliases=["latest"], ClientToken="token-1")
    sm.create_image_version(ImageName="img", BaseImage=BASE, Aliases=["stable"], ClientToken="token-2")
    sm.add_tags(ResourceArn=arn(OWNER, "image/img"), Tags=[{"Key": "env", "Value": "prod"}])


def probes(me):
    """Every operation, aimed at the owner's names and ARNs, then at the probing scope's own new resources."""
    owner_image, owner_version = arn(OWNER, "image/img"), arn(OWNER, "image-version/img/1")
    foreign = [owner_image, arn((OWNER[0], me[1]), "image/img"), arn((me[0], OWNER[1]), "image/img")]
    steps = [
        ("describe_image", {"ImageName": "img"}),
        ("list_images", {}),
        ("list_images", {"NameContains": "im", "SortBy": "IMAGE_NAME"}),
        ("list_image_versions", {"ImageName": "img"}),
        ("list_aliases", {"ImageName": "img"}),
        ("list_aliases", {"ImageName": "img", "Version": 1}),
        ("list_aliases", {"ImageName": "img", "Alias": "latest"}),
        ("describe_image_version", {"ImageName": "img"}),
        ("describe_image_version", {"ImageName": "img", "Version": 1}),
        ("describe_image_version", {"ImageName": "img", "Alias": "latest"}),
        ("update_image", {"ImageName": "img", "Description": "hijacked"}),
        ("update_image", {"ImageName": "img", "DeleteProperties": ["Description"]}),
        ("update_image_version", {"ImageName": "img", "Version": 1, "AliasesToAdd": ["mine"]}),
        ("update_image_version", {"ImageName": "img", "Alias": "latest", "AliasesToDelete": ["latest"]}),
        ("update_image_version", {"ImageName": "img", "Alias": "stable", "JobType": "TRAINING"}),
        ("delete_image_version", {"ImageName": "img", "Version": 2}),
        ("delete_image_version", {"ImageName": "img", "Alias": "latest"}),
        ("create_image_version", {"ImageName": "img", "BaseImage": BASE, "ClientToken": "token-1"}),
        ("delete_image", {"ImageName": "other"}),
        ("delete_image", {"ImageName": "img"}),
    ]
    for resource in (*foreign, owner_version):
        steps += [
            ("list_tags", {"ResourceArn": resource}),
            ("add_tags", {"ResourceArn": resource, "Tags": [{"Key": "team", "Value": "hijacked"}]}),
            ("delete_tags", {"ResourceArn": resource, "TagKeys": ["team", "env"]}),
        ]
    # the same names in the probing scope are free, version numbers and client tokens start over
    steps += [
        ("create_image", {"ImageName": "img", "RoleArn": ROLE, "Tags": [{"Key": "team", "Value": "b"}]}),
        ("create_image", {"ImageName": "Other", "RoleArn": ROLE}),
        (
            "create_image_version",
            {"ImageName": "img", "BaseImage": BASE, "Aliases": ["latest"], "ClientToken": "token-1"},
        ),
        ("describe_image_version", {"ImageName": "img"}),
        ("describe_image_version", {"ImageName": "img", "Alias": "latest"}),
        ("list_images", {}),
        ("list_image_versions", {"ImageName": "img"}),
        ("list_aliases", {"ImageName": "img"}),
        ("list_tags", {"ResourceArn": arn(me, "image/img")}),
        ("add_tags", {"ResourceArn": arn(me, "image/img"), "Tags": [{"Key": "env", "Value": "dev"}]}),
        ("list_tags", {"ResourceArn": arn(me, "image/img")}),
        ("list_tags", {"ResourceArn": owner_image}),
        ("delete_tags", {"ResourceArn": arn(me, "image/img"), "TagKeys": ["team"]}),
        ("update_image", {"ImageName": "img", "DisplayName": "mine"}),
        ("update_image_version", {"ImageName": "img", "Version": 1, "AliasesToAdd": ["stable"]}),
        ("delete_image_version", {"ImageName": "img", "Version": 1}),
        ("delete_image", {"ImageName": "img"}),
        ("describe_image", {"ImageName": "img"}),
    ]
    return steps


def outcome(sm, method: str, params: dict):
    try:
        response = getattr(sm, method)(**params)
    except ClientError as exc:
        return (
            "error",
            exc.response["ResponseMetadata"]["HTTPStatusCode"],
            exc.response["Error"]["Code"],
            exc.response["Error"]["Message"],
        )
    response.pop("ResponseMetadata")
    return ("ok", response)


def owner_view(sm) -> dict:
    """Everything the owner can read about its catalog."""
    view = {
        "images": outcome(sm, "list_images", {}),
        "versions": outcome(sm, "list_image_versions", {"ImageName": "img"}),
    }
    for name in ("img", "other"):
        view[name] = outcome(sm, "describe_image", {"ImageName": name})
    for number in (1, 2):
        view[f"v{number}"] = outcome(sm, "describe_image_version", {"ImageName": "img", "Version": number})
        view[f"aliases{number}"] = outcome(sm, "list_aliases", {"ImageName": "img", "Version": number})
    view["tags"] = outcome(sm, "list_tags", {"ResourceArn": arn(OWNER, "image/img")})
    view["token"] = outcome(
        sm, "create_image_version", {"ImageName": "img", "BaseImage": BASE, "ClientToken": "token-2"}
    )  # a replay: creates nothing
    return view


@pytest.mark.parametrize("prober", PROBERS)
def test_another_scope_sees_exactly_what_an_empty_catalog_shows(service, control, auth_mode, prober):
    me = PROBERS[prober]
    owner = make_client(service, auth_mode, OWNER)
    populate(owner)
    before = owner_view(owner)
    assert before["v2"][0] == "ok" and len(before["tags"][1]["Tags"]) == 2

    subject_client, control_client = make_client(service, auth_mode, me), make_client(control, auth_mode, me)
    for method, params in probes(me):
        seen = outcome(subject_client, method, params)
        assert seen == outcome(control_client, method, params), (method, params)
    assert owner_view(owner) == before


def test_owner_tags_and_versions_stay_put_when_others_use_the_same_names(service, auth_mode):
    owner = make_client(service, auth_mode, OWNER)
    populate(owner)
    others = [make_client(service, auth_mode, scope) for scope in PROBERS.values()]
    for i, sm in enumerate(others):
        sm.create_image(ImageName="img", RoleArn=ROLE, Tags=[{"Key": "team", "Value": f"other-{i}"}])
        assert sm.create_image_version(ImageName="img", BaseImage=BASE, ClientToken="token-1")[
            "ImageVersionArn"
        ].endswith("/img/1")
    assert [t["Value"] for t in owner.list_tags(ResourceArn=arn(OWNER, "image/img"))["Tags"]] == ["a", "prod"]
    assert [v["Version"] for v in owner.list_image_versions(ImageName="img")["ImageVersions"]] == [2, 1]
    for i, (sm, scope) in enumerate(zip(others, PROBERS.values(), strict=False)):
        assert sm.list_tags(ResourceArn=arn(scope, "image/img"))["Tags"] == [{"Key": "team", "Value": f"other-{i}"}]
        assert [image["ImageArn"] for image in sm.list_images()["Images"]] == [arn(scope, "image/img")]
