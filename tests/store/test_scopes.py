"""The reads only the console makes (smimages/operations/overview.py): which (account, region) scopes hold
resources, and how many versions images have, as the clock shows them, on every backend."""

from smimages.context import RequestContext
from smimages.operations import overview
from support import ROLE


def test_scopes_count_what_exists_in_each_account_and_region(catalog):
    svc, _ = catalog
    svc.client(access_key="222222222222").create_image(ImageName="other", RoleArn=ROLE)
    svc.client(access_key="111111111111", region="eu-west-1").create_app_image_config(AppImageConfigName="cfg")
    assert overview.scopes(svc.service) == [
        {"account": "000000000000", "region": "us-east-1", "images": 3, "app_image_configs": 2},
        {"account": "111111111111", "region": "eu-west-1", "images": 0, "app_image_configs": 1},
        {"account": "222222222222", "region": "us-east-1", "images": 1, "app_image_configs": 0},
    ]
    svc.advance(10)  # image "doomed" is gone
    assert overview.scopes(svc.service)[0] == {
        "account": "000000000000",
        "region": "us-east-1",
        "images": 2,
        "app_image_configs": 2,
    }


def test_version_counts_are_those_of_the_callers_scope(catalog):
    svc, now = catalog
    ctx = RequestContext("000000000000", "us-east-1", now)
    names = ["img", "emptied", "doomed", "missing", "img"]
    assert overview.version_counts(svc.service, ctx, names) == {"img": 4, "emptied": 1, "doomed": 1}
    later = ctx._replace(now=now + 10)  # versions 2 and 4 of img, 1 of emptied, and image doomed are gone
    assert overview.version_counts(svc.service, later, names) == {"img": 2, "emptied": 0}
    assert overview.version_counts(svc.service, RequestContext("111111111111", "us-east-1", now), names) == {}
    assert overview.version_counts(svc.service, RequestContext("000000000000", "eu-west-1", now), names) == {}
