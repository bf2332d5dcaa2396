"""NextToken values: opaque, bound to the query that made them, refused with AWS's message otherwise."""

import pytest

from smimages.domain import paging
from smimages.errors import ValidationException

QUERY = {"SortBy": "CREATION_TIME", "SortOrder": "DESCENDING"}


def test_a_token_resumes_its_own_query_only():
    token = paging.encode(QUERY, [12.5, 7])
    assert paging.decode(QUERY, token) == [12.5, 7]
    assert paging.decode(QUERY, None) is None and paging.decode(QUERY, "") is None
    with pytest.raises(ValidationException) as excinfo:
        paging.decode({**QUERY, "SortOrder": "ASCENDING"}, token)
    assert excinfo.value.message == "The NextToken provided is invalid."


@pytest.mark.parametrize("token", ["x", "e30=", "bm90IGpzb24=", "eyJxIjoxfQ==", "\u00e9"])
def test_anything_else_is_an_invalid_token(token):
    with pytest.raises(ValidationException, match=r"The NextToken provided is invalid\."):
        paging.decode(QUERY, token)


def test_a_page_has_a_token_only_when_more_rows_came_back():
    rows = [(f"item{i}", [i]) for i in range(4)]
    items, token = paging.page(rows, 3, QUERY)
    assert items == ["item0", "item1", "item2"] and paging.decode(QUERY, token) == [2]
    assert paging.page(rows, 4, QUERY) == (["item0", "item1", "item2", "item3"], None)


def test_a_page_of_store_rows_resumes_after_its_last_row_by_sort_key_and_tiebreak():
    rows = [(7 - i, f"name{i}", 100.0 + i) for i in range(4)]  # (tiebreak, ..., sort key)
    page, token = paging.listed_page(rows, 3, QUERY)
    assert page == rows[:3] and paging.decode(QUERY, token) == [102.0, 5]
    assert paging.listed_page(rows, 4, QUERY) == (rows, None)


def test_a_list_query_holds_its_filters_and_sort_with_defaults():
    request = {"NameContains": "a", "MaxResults": 5, "NextToken": "t"}
    assert paging.list_query(request, ("NameContains", "CreationTimeAfter"), "CREATION_TIME") == {
        "NameContains": "a",
        "SortBy": "CREATION_TIME",
        "SortOrder": "DESCENDING",
    }


def test_a_listing_is_what_the_store_runs():
    query = {"SortBy": "Name", "SortOrder": "Ascending"}
    token = paging.encode(query, ["b", 2])
    listing = paging.listing({"SortBy": "Name", "SortOrder": "Ascending", "NextToken": token}, (), "CreationTime")
    assert listing == paging.Listing(query, False, ["b", 2], 10)  # 10: the default MaxResults
    assert listing.sort_by == "Name"
    assert paging.listing({"MaxResults": 3}, (), "CreationTime", "Descending") == paging.Listing(
        {"SortBy": "CreationTime", "SortOrder": "Descending"}, True, None, 3
    )
