import pytest

from cachekit import LRUCache, SlidingWindowLimiter, TokenBucket, TTLCache


class FakeClock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def test_hidden_lru_sequence_capacity_3():
    cache = LRUCache(3)
    for key in "wxyz":
        cache.put(key, key.upper())
    assert "w" not in cache
    assert cache.get("x") == "X"
    cache.put("v", "V")
    assert "y" not in cache
    assert sorted(k for k in "vwxyz" if k in cache) == ["v", "x", "z"]
    assert len(cache) == 3


def test_hidden_lru_capacity_one():
    cache = LRUCache(1)
    cache.put(1, "a")
    cache.put(2, "b")
    assert cache.get(1) is None
    assert cache.get(2) == "b"


def test_hidden_get_refresh_keeps_hot_key():
    cache = LRUCache(3)
    for key in range(3):
        cache.put(key, key)
    for key in range(3, 10):
        assert cache.get(0) == 0
        cache.put(key, key)
    assert 0 in cache and 9 in cache and 8 in cache
    assert 7 not in cache


def test_hidden_hit_rate_values():
    cache = LRUCache(2)
    assert cache.hit_rate() == 0.0
    cache.put("a", 1)
    cache.get("a")
    for _ in range(3):
        cache.get("b")
    assert cache.hit_rate() == pytest.approx(0.25)


def test_hidden_ttl_boundaries():
    clock = FakeClock(100.0)
    cache = TTLCache(2, ttl=5, clock=clock)
    cache.put("k", 1)
    clock.now = 104.999
    assert cache.get("k") == 1
    clock.now = 105.0
    assert cache.get("k") is None
    cache.put("k", 2)
    clock.now = 109.5
    assert cache.get("k") == 2
    clock.now = 110.0
    assert cache.get("k", "x") == "x"


def test_hidden_bucket_capacity_after_long_idle():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, capacity=5, clock=clock)
    bucket.allow(cost=5)
    clock.now = 1000.0
    assert [bucket.allow() for _ in range(6)] == [True] * 5 + [False]
    assert bucket.tokens <= 5


def test_hidden_bucket_partial_refill():
    clock = FakeClock()
    bucket = TokenBucket(rate=1, capacity=10, clock=clock)
    bucket.allow(cost=10)
    clock.now = 2.5
    assert bucket.allow(cost=2)
    assert not bucket.allow()
    assert bucket.wait_time() == pytest.approx(0.5)


def test_hidden_window_boundary_exact():
    clock = FakeClock(1000.0)
    limiter = SlidingWindowLimiter(limit=3, window=60, clock=clock)
    assert all(limiter.allow() for _ in range(3))
    clock.now = 1059.0
    assert not limiter.allow()
    assert limiter.remaining() == 0
    clock.now = 1060.0
    assert limiter.remaining() == 3
    assert limiter.allow()
    assert limiter.remaining() == 2
