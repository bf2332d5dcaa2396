"""The in-process mock beside moto's mock_aws: smimages answers image and app image config calls, moto the rest
(domains, tags on their ARNs), and the custom images a call for moto names are checked here first."""

import boto3
import pytest
from botocore.exceptions import ClientError

from smimages.testing import mock_sagemaker_images
from support import BASE, REGION, ROLE, error_of

moto = pytest.importorskip("moto")
ACCOUNT = "000000000000"  # smimages' account for moto's fake "testing" key


def settings(*custom_images: dict) -> dict:
    return {"ExecutionRole": ROLE, "KernelGatewayAppSettings": {"CustomImages": list(custom_images)}}


def create_domain(sm, name: str, *custom_images: dict) -> dict:
    return sm.create_domain(
        DomainName=name,
        AuthMode="IAM",
        SubnetIds=["subnet-12345678"],
        VpcId="vpc-12345678",
        DefaultUserSettings=settings(*custom_images),
        Tags=[{"Key": "team", "Value": "ml"}],
    )


def test_app_image_configs_here_domains_in_moto(db_url):
    with moto.mock_aws(), mock_sagemaker_images(db=db_url) as mock:
        sm = boto3.client("sagemaker", region_name=REGION)
        sm.create_image(ImageName="img", RoleArn=ROLE)
        sm.create_image_version(ImageName="img", BaseImage=BASE)
        config_arn = sm.create_app_image_config(
            AppImageConfigName="cfg", KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3"}]}
        )["AppImageConfigArn"]
        assert config_arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:app-image-config/cfg"
        custom = {"ImageName": "img", "ImageVersionNumber": 1, "AppImageConfigName": "cfg"}
        domain_arn = create_domain(sm, "studio", custom)["DomainArn"]
        assert domain_arn.endswith(":domain/d-studio")  # moto's answer, in moto's account
        described = sm.describe_domain(DomainId="d-studio")
        assert described["DefaultUserSettings"]["KernelGatewayAppSettings"]["CustomImages"] == [custom]
        sm.add_tags(ResourceArn=domain_arn, Tags=[{"Key": "owner", "Value": "me"}])
        assert [t["Key"] for t in sm.list_tags(ResourceArn=domain_arn)["Tags"]] == ["team", "owner"]
        assert [c["name"] for c in mock.dump()["app_image_configs"]] == ["cfg"]
        # missing references are refused here, and moto never sees the call
        with pytest.raises(ClientError) as exc:
            create_domain(sm, "broken", {**custom, "AppImageConfigName": "nope"})
        assert error_of(exc) == (
            "ResourceNotFound",
            f"AppImageConfig with ARN arn:aws:sagemaker:{REGION}:{ACCOUNT}:app-image-config/nope does not exist",
        )
        assert [d["DomainName"] for d in sm.list_domains()["Domains"]] == ["studio"]
        sm.delete_domain(DomainId="d-studio")
