"""Loads botocore's SageMaker service model once, with the patches smimages applies to it."""

from __future__ import annotations

import functools

import botocore.session
from botocore.model import OperationModel, ServiceModel

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
    """The model of a SageMaker operation, or None for a name the model lacks (a client's name is never cached)."""
    return _model(name) if name in _names() else None


@functools.cache
def _names() -> frozenset[str]:
    return frozenset(service_model().operation_names)


@functools.cache
def _model(name: str) -> OperationModel:
    """The model of one operation, built once (the model's operations are a fixed set)."""
    return service_model().operation_model(name)
