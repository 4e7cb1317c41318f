import pytest

from cachekit import SlidingWindowLimiter, TokenBucket


class FakeClock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def test_bucket_allows_a_burst_up_to_capacity():
    bucket = TokenBucket(rate=1, capacity=3, clock=FakeClock())
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]


def test_bucket_refills_over_time():
    clock = FakeClock()
    bucket = TokenBucket(rate=2, capacity=4, clock=clock)
    for _ in range(4):
        bucket.allow()
    clock.now = 1.0
    assert [bucket.allow() for _ in range(3)] == [True, True, False]


def test_bucket_never_holds_more_than_capacity():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, capacity=3, clock=clock)
    clock.now = 100.0
    assert [bucket.allow() for _ in range(4)] == [True, True, True, False]


def test_cost_above_capacity_is_an_error():
    with pytest.raises(ValueError):
        TokenBucket(rate=1, capacity=3, clock=FakeClock()).allow(cost=4)


def test_wait_time():
    bucket = TokenBucket(rate=2, capacity=2, clock=FakeClock())
    bucket.allow(cost=2)
    assert bucket.wait_time() == pytest.approx(0.5)


def test_window_refuses_when_full_and_frees_up_after_the_window():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(limit=2, window=10, clock=clock)
    results = []
    for t in (0, 1, 5, 10):
        clock.now = t
        results.append(limiter.allow())
    assert results == [True, True, False, True]


def test_window_remaining():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(limit=3, window=10, clock=clock)
    limiter.allow()
    clock.now = 9.5
    assert limiter.remaining() == 2
    clock.now = 10
    assert limiter.remaining() == 3
