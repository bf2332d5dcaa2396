"""Clocks stay where AWS timestamps can follow: never back, never past 9999-12-31T23:59:59.999Z."""

import datetime

import pytest

from smimages.clock import LATEST, ManualClock, ShiftedClock


def test_latest_is_the_last_millisecond_of_year_9999():
    moment = datetime.datetime.fromtimestamp(LATEST, datetime.UTC)
    assert moment.isoformat(timespec="seconds") == "9999-12-31T23:59:59+00:00" and moment.microsecond > 998_000
    assert LATEST + 0.001 >= datetime.datetime(9999, 12, 31, 23, 59, 59, 999_999, datetime.UTC).timestamp()


@pytest.mark.parametrize("clock", [ManualClock(), ShiftedClock()])
@pytest.mark.parametrize("seconds", [1e308, LATEST, float("inf"), float("nan"), -1])
def test_a_clock_refuses_to_leave_the_timestamp_range(clock, seconds):
    before = clock()
    with pytest.raises(ValueError):
        clock.advance(seconds)
    assert clock() - before < 1


def test_a_clock_may_reach_the_last_moment():
    clock = ManualClock(start=0)
    clock.advance(LATEST)
    assert clock() == LATEST
    with pytest.raises(ValueError, match=r"cannot pass 9999-12-31T23:59:59\.999Z"):
        clock.advance(0.001)
