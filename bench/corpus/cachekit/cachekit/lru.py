"""A least-recently-used cache and a time-to-live cache built on it."""
from collections import OrderedDict

_MISSING = object()


class LRUCache:
    """Maps keys to values, evicting the least recently used entry beyond `capacity`."""

    def __init__(self, capacity):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._data = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self):
        return len(self._data)

    def __contains__(self, key):
        """Membership test; it does not count as a use of the key."""
        return key in self._data

    def get(self, key, default=None):
        """The cached value (marking it as recently used), or `default`."""
        value = self._data.get(key, _MISSING)
        if value is _MISSING:
            self.misses += 1
            return default
        self.hits += 1
        self._data.move_to_end(key)
        return value

    def put(self, key, value):
        """Store `value`, evicting the least recently used entry if the cache is full."""
        if key in self._data:
            self._data.move_to_end(key)
        self._data[key] = value
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def hit_rate(self):
        """Fraction of get() calls that found their key (0.0 before any call)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class TTLCache:
    """An LRU cache whose entries also expire `ttl` seconds after they were stored."""

    def __init__(self, capacity, ttl, clock):
        self.ttl = ttl
        self.clock = clock
        self._lru = LRUCache(capacity)

    def put(self, key, value):
        self._lru.put(key, (self.clock(), value))

    def get(self, key, default=None):
        """The value if present and younger than `ttl`, else `default`."""
        entry = self._lru.get(key)
        if entry is None:
            return default
        stored_at, value = entry
        if self.clock() - stored_at >= self.ttl:
            return default
        return value
