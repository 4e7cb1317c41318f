import pytest

from cachekit import LRUCache, TTLCache


class FakeClock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        LRUCache(0)


def test_put_and_get():
    cache = LRUCache(2)
    cache.put("a", 1)
    assert cache.get("a") == 1
    assert len(cache) == 1


def test_missing_key_returns_default():
    cache = LRUCache(2)
    assert cache.get("nope", "dflt") == "dflt"
    assert cache.misses == 1


def test_evicts_least_recently_used():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert "a" not in cache
    assert cache.get("b") == 2 and cache.get("c") == 3


def test_get_counts_as_a_use():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert "a" in cache
    assert "b" not in cache


def test_membership_test_is_not_a_use():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert "a" in cache
    cache.put("c", 3)
    assert "a" not in cache


def test_put_existing_key_updates_and_refreshes():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)
    assert cache.get("a") == 10
    assert "b" not in cache


def test_hit_rate():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.get("a")
    cache.get("a")
    cache.get("x")
    assert cache.hit_rate() == pytest.approx(2 / 3)


def test_ttl_entry_is_fresh_before_expiry():
    clock = FakeClock()
    cache = TTLCache(4, ttl=10, clock=clock)
    cache.put("k", "v")
    clock.now = 9
    assert cache.get("k") == "v"


def test_ttl_entry_expires_after_exactly_ttl():
    clock = FakeClock()
    cache = TTLCache(4, ttl=10, clock=clock)
    cache.put("k", "v")
    clock.now = 10
    assert cache.get("k", "gone") == "gone"
