"""Loads botocore's SageMaker service model once and names the operations smimages serves."""
import functools

import botocore.session
from botocore.model import OperationModel, ServiceModel

SERVED_OPERATIONS = (
    "CreateImage", "DescribeImage", "UpdateImage", "DeleteImage", "ListImages",
    "CreateImageVersion", "DescribeImageVersion", "UpdateImageVersion", "DeleteImageVersion",
    "ListImageVersions", "ListAliases", "AddTags", "ListTags", "DeleteTags",
)


@functools.cache
def service_model() -> ServiceModel:
    """The SageMaker model shipped with the installed botocore."""
    return botocore.session.get_session().get_service_model("sagemaker")


@functools.cache
def operation_model(name: str) -> OperationModel | None:
    """The model of a served operation, or None for anything else."""
    if name not in SERVED_OPERATIONS:
        return None
    return service_model().operation_model(name)
