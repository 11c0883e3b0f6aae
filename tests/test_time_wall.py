"""gort.time.wall(), to_datetime(), from_datetime(), until() (issue 16):
printing when something happened, from monotonic times."""

import datetime
import time

import pytest

import gort
import gort.time as gtime


def test_wall_is_the_wall_clock():
    a = time.time()
    w = gtime.wall()
    b = time.time()
    assert a <= w <= b


def test_to_datetime_of_now_is_now():
    dt = gtime.to_datetime(gtime.now())
    assert dt.tzinfo is not None  # aware, local time
    assert abs(dt.timestamp() - time.time()) < 0.5
    utc = gtime.to_datetime(gtime.now(), datetime.UTC)
    assert utc.tzinfo is datetime.UTC
    assert abs((utc - datetime.datetime.now(datetime.UTC)).total_seconds()) < 0.5


def test_round_trip_and_offsets():
    t = gtime.now() - 3.25
    dt = gtime.to_datetime(t)
    assert gtime.from_datetime(dt) == pytest.approx(t, abs=0.01)
    later = datetime.datetime.now() + datetime.timedelta(seconds=10)  # naive: local
    assert gtime.until(later) == pytest.approx(10, abs=0.5)
    assert gtime.from_datetime(later) - gtime.now() == pytest.approx(10, abs=0.5)


def test_timer_values_print_as_datetimes():
    # A timer channel delivers the monotonic time it was due; to_datetime
    # turns it into the wall time it fired.
    def main():
        v = gtime.after(0.01).recv()
        return gtime.to_datetime(v)

    dt = gort.run(main)
    assert abs(dt.timestamp() - time.time()) < 1.0


def test_bad_inputs():
    with pytest.raises(TypeError, match="to_datetime: t must be a time"):
        gtime.to_datetime("now")
    with pytest.raises(TypeError, match="from_datetime: expected a datetime"):
        gtime.from_datetime(1.0)
    for name in ("wall", "to_datetime", "from_datetime", "until"):
        assert name in gtime.__all__
