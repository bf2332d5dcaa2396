"""Each limit smimages keeps in smimages/domain/limits.py agrees with botocore's model wherever the model states it."""

import re

from smimages.domain import limits
from smimages.spec import service_model


def _max_results_doc(operation: str) -> str:
    return service_model().operation_model(operation).input_shape.members["MaxResults"].documentation


def test_the_default_page_is_the_one_the_model_documents():
    for operation in ("ListImages", "ListImageVersions"):
        documented = re.search(r"default value is (\d+)", _max_results_doc(operation))
        assert documented is not None and int(documented[1]) == limits.DEFAULT_MAX_RESULTS


def test_the_tag_limits_are_the_models():
    model = service_model()
    assert model.shape_for("TagList").metadata["max"] == limits.MAX_TAGS_PER_RESOURCE
    assert model.shape_for("ListTagsMaxResults").metadata["min"] == limits.DEFAULT_TAG_PAGE


def test_failure_reasons_fit_the_model():
    assert service_model().shape_for("FailureReason").metadata["max"] == limits.MAX_FAILURE_REASON
