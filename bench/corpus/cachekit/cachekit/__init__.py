"""Caches and rate limiters driven by an injectable clock."""
from .lru import LRUCache, TTLCache
from .ratelimit import SlidingWindowLimiter, TokenBucket

__all__ = ["LRUCache", "TTLCache", "SlidingWindowLimiter", "TokenBucket"]
