"""Rate limiters. Both take a `clock` callable returning seconds, for testability."""
from collections import deque


class TokenBucket:
    """Allows bursts of up to `capacity` requests, refilled at `rate` tokens per second."""

    def __init__(self, rate, capacity, clock):
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self.tokens = capacity
        self.updated = clock()

    def _refill(self):
        now = self.clock()
        elapsed = now - self.updated
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    def allow(self, cost=1):
        """Take `cost` tokens if there are enough; True when the request may proceed."""
        if cost > self.capacity:
            raise ValueError("cost exceeds the bucket capacity")
        self._refill()
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False

    def wait_time(self, cost=1):
        """Seconds until `cost` tokens will be available (0.0 if they already are)."""
        self._refill()
        missing = cost - self.tokens
        return max(0.0, missing / self.rate)


class SlidingWindowLimiter:
    """Allows at most `limit` requests in any `window`-second interval."""

    def __init__(self, limit, window, clock):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._times = deque()

    def allow(self):
        """Record and allow a request, or refuse it when the window is full."""
        now = self.clock()
        while self._times and self._times[0] <= now - self.window:
            self._times.popleft()
        if len(self._times) < self.limit:
            self._times.append(now)
            return True
        return False

    def remaining(self):
        """Requests still allowed right now."""
        now = self.clock()
        return self.limit - sum(1 for t in self._times if t > now - self.window)
