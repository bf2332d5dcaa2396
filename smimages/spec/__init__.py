"""Loads botocore's SageMaker service model once and names the operations smimages serves."""
import functools

import botocore.session
from botocore.model import OperationModel, ServiceModel

SERVED_OPERATIONS = (
    "CreateImage", "DescribeImage", "UpdateImage", "DeleteImage", "ListImages",
    "CreateImageVersion", "DescribeImageVersion", "UpdateImageVersion", "DeleteImageVersion",
    "ListImageVersions", "ListAliases", "AddTags", "ListTags", "DeleteTags",
)


# Limits the model leaves open, added here so the validator enforces them with AWS's wording; each is a choice
# recorded in docs/compatibility.md. shape name -> metadata to add.
MODEL_PATCHES = {
    # The model has no list-size limit on aliases; a 1 MiB request could otherwise carry 200,000 of them
    # (docs/security.md, "Hostile input").
    "SageMakerImageVersionAliases": {"max": 100},
}


@functools.cache
def service_model() -> ServiceModel:
    """The SageMaker model shipped with the installed botocore, with MODEL_PATCHES applied."""
    data = botocore.session.get_session().get_service_data("sagemaker")  # a fresh session: its own copy
    for shape, metadata in MODEL_PATCHES.items():
        data["shapes"][shape].update(metadata)
    return ServiceModel(data, service_name="sagemaker")


def operation_model(name: str) -> OperationModel | None:
    """The model of a served operation, or None for anything else (a client's name is never cached)."""
    return _served_model(name) if name in SERVED_OPERATIONS else None


@functools.cache
def _served_model(name: str) -> OperationModel:
    """The model of one of SERVED_OPERATIONS, built once."""
    return service_model().operation_model(name)
