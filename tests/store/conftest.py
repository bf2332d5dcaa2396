"""Fixtures of the store tier: a SQLite file's URL, and a catalog with resources in every state a lookup tells apart."""

import pytest

from smimages.operations.service import Settings
from smimages.testing import InProcess
from support import BASE, ROLE


@pytest.fixture
def file_url(tmp_path):
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture(params=["sqlite-file", "sqlite-memory", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog(request, file_url):
    """A catalog whose resources are in every state a lookup must tell apart, and the time it was built."""
    url = {"sqlite-file": file_url, "sqlite-memory": "sqlite://"}.get(request.param) or request.getfixturevalue(
        "pg_url"
    )
    svc = InProcess(url, Settings(transition_delay=10))
    sm = svc.client()
    for name in ("img", "doomed", "emptied"):
        sm.create_image(ImageName=name, RoleArn=ROLE)
    svc.advance(10)
    for number in range(1, 5):
        sm.create_image_version(ImageName="img", BaseImage=BASE, Aliases=[f"a{number}"])
    sm.create_image_version(ImageName="doomed", BaseImage=BASE, Aliases=["a1"])
    sm.create_image_version(ImageName="emptied", BaseImage=BASE)
    svc.advance(10)
    sm.update_image_version(ImageName="img", Version=3, Horovod=True)
    for name, number in (("img", 4), ("img", 2), ("emptied", 1)):
        sm.delete_image_version(ImageName=name, Version=number)  # gone at +10
    sm.delete_image(ImageName="doomed")
    sm.create_app_image_config(
        AppImageConfigName="kernel",
        KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}]},
    )
    sm.create_app_image_config(AppImageConfigName="bare")
    yield svc, svc.now()
    svc.close()
