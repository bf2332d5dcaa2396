"""The service's limits and defaults the model states only in its documentation, each in one place.

tests/unit/test_limits.py holds every number here against botocore's model where the model carries it."""

DEFAULT_MAX_RESULTS = 10  # List* calls without MaxResults ("default 10" in the model's docs; ListAliases alike)
DEFAULT_TAG_PAGE = 50  # ListTags without MaxResults: its MaxResults minimum (ListTagsMaxResults min 50)
MAX_TAGS_PER_RESOURCE = 50  # AWS's tagging limit; also the model's TagList max per request
MAX_FAILURE_REASON = 1024  # the FailureReason shape's max length
