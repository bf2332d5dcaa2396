"""Fixtures of the fault tier: a PostgreSQL cluster of the test's own, which it may stop, restart or fill."""

import pytest

from support.cluster import ThrowawayCluster, unavailable_reason


@pytest.fixture
def cluster():
    """A throwaway PostgreSQL cluster, started (skipped where none can be made here; see support/cluster.py)."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with ThrowawayCluster() as started:
        yield started
