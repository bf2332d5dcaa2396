"""The fast read path (driver-level lookups and lists, reads on per-thread connections, PostgreSQL's reads on the event
loop) against the plain SQLAlchemy path: every lookup gives the same columns, in the same order, with the same values,
on both backends."""

import asyncio

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from smimages.domain.paging import Listing
from smimages.store import Busy, Store, open_store
from smimages.store.fastpath import DriverLookups, PlainLookups
from support import ACCOUNT, REGION

SELECTORS = [{}, *({"number": n} for n in range(1, 6)), *({"alias": f"a{n}"} for n in range(1, 6))]
NAMES = ("img", "doomed", "emptied", "missing")


def lookups(tx, now):
    """Every per-request lookup and list the catalog has, over every image, selector and sort, as (call, result)
    pairs."""
    results = []
    for name in NAMES:
        image = tx.image(ACCOUNT, REGION, name, now)
        results.append((("image", name), image))
        for selector in SELECTORS:
            if image is not None:
                results.append((("version", name, tuple(selector.items())), tx.version(image["id"], now, **selector)))
            results.append(
                (
                    ("image_version", name, tuple(selector.items())),
                    tx.image_version(ACCOUNT, REGION, name, now, **selector),
                )
            )
        if image is not None:
            results.append((("token", name), tx.version(image["id"], now, token="no-such-token")))
            for sort_by in ("CREATION_TIME", "LAST_MODIFIED_TIME", "VERSION"):
                listing = Listing({"SortBy": sort_by, "SortOrder": "DESCENDING"}, True, None, 100)
                page = tx.list_versions(image["id"], now, listing)
                results.append((("list_versions", name, sort_by), page))
    for sort_by in ("CREATION_TIME", "LAST_MODIFIED_TIME", "IMAGE_NAME"):
        for query in ({}, {"NameContains": "MG"}):
            listing = Listing({**query, "SortBy": sort_by, "SortOrder": "ASCENDING"}, False, None, 100)
            results.append((("list_images", sort_by, tuple(query)), tx.list_images(ACCOUNT, REGION, now, listing)))
    for sort_by in ("CreationTime", "LastModifiedTime", "Name"):
        listing = Listing({"SortBy": sort_by, "SortOrder": "Descending"}, True, None, 100)
        results.append((("list_app_image_configs", sort_by), tx.list_app_image_configs(ACCOUNT, REGION, listing)))
    return results


def columns(result):
    """A lookup's result with its column order made visible."""
    if isinstance(result, dict):
        return list(result.items())
    if isinstance(result, (tuple, list)):
        return [columns(part) for part in result]
    return result


def test_the_fast_path_answers_as_the_plain_path_does(catalog):
    svc, built = catalog
    store = svc.service.store
    plain = None if store.memory else Store(store.url, fast=False)  # a second store on the same database
    try:
        for now in (built, built + 10):  # deletions pending, then done
            with store.transaction() as tx:
                assert isinstance(tx.lookups, DriverLookups)
                fast = lookups(tx, now)
            if plain is None:  # an in-memory catalog lives in one connection: switch its transaction's lookups
                with store.transaction() as tx:
                    tx.lookups = PlainLookups()
                    slow = lookups(tx, now)
            else:
                with plain.transaction() as tx:
                    assert isinstance(tx.lookups, PlainLookups)
                    slow = lookups(tx, now)
            assert [call for call, _ in fast] == [call for call, _ in slow]
            for (call, fast_result), (_, slow_result) in zip(fast, slow, strict=True):
                assert columns(fast_result) == columns(slow_result), call
            assert sum(result is not None for _, result in fast) >= 12  # found ones, not only misses
            assert all(result for call, result in fast if call[0] in ("list_images", "list_app_image_configs"))
    finally:
        if plain is not None:
            plain.dispose()


@pytest.mark.parametrize("catalog", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_reads_on_the_event_loop_answer_as_the_plain_path_does(catalog):
    """The server's way of reading PostgreSQL (a greenlet on the loop, a loop connection) against the plain path."""
    svc, built = catalog
    store = svc.service.store
    plain = Store(store.url, fast=False)
    store.loop_reader()

    def on_the_loop(now):
        assert store.loop_reads.here()
        with store.transaction() as tx:
            assert isinstance(tx.lookups, DriverLookups) and tx.conn.engine is store.loop_reads.engine
            return lookups(tx, now)

    async def both_times():
        try:
            return [await store.loop_reads.run(on_the_loop, now) for now in (built, built + 10)]
        finally:
            await store.loop_reads.close()

    try:
        for now, fast in zip((built, built + 10), asyncio.run(both_times()), strict=True):
            with plain.transaction() as tx:
                slow = lookups(tx, now)
            assert [call for call, _ in fast] == [call for call, _ in slow]
            for (call, fast_result), (_, slow_result) in zip(fast, slow, strict=True):
                assert columns(fast_result) == columns(slow_result), call
            assert sum(result is not None for _, result in fast) >= 12
    finally:
        plain.dispose()


def test_a_lock_timeout_on_the_fast_path_is_busy(pg_url):
    """A FOR UPDATE lookup (driver level) waiting on a row another connection holds gives up as Busy."""
    url = make_url(pg_url)
    url = url.update_query_dict({"options": url.query["options"] + " -clock_timeout=200"})
    store = open_store(url.render_as_string(hide_password=False))
    holder = create_engine(pg_url).connect()
    try:
        with store.transaction(write=True) as tx:
            image_id = tx.insert_image(
                {
                    "account": ACCOUNT,
                    "region": REGION,
                    "name": "img",
                    "name_key": "img",
                    "role_arn": "r",
                    "next_version": 0,
                    "status": "CREATED",
                    "created_at": 0.0,
                    "modified_at": 0.0,
                }
            )
        holder.exec_driver_sql(f"SELECT 1 FROM images WHERE id = {image_id} FOR UPDATE")
        with pytest.raises(Busy):
            with store.transaction(write=True) as tx:
                tx.image(ACCOUNT, REGION, "img", 0.0, lock=True)  # a driver-level lookup (FOR UPDATE)
    finally:
        holder.rollback()
        holder.close()
        store.dispose()
