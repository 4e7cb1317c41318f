"""A binary min-heap stored in a list (a plain implementation, without heapq)."""


class MinHeap:
    """Items are ordered with `<`; pop() always returns the smallest."""

    def __init__(self, items=()):
        self._items = []
        for item in items:
            self.push(item)

    def __len__(self):
        return len(self._items)

    def __bool__(self):
        return bool(self._items)

    def peek(self):
        """The smallest item, without removing it."""
        if not self._items:
            raise IndexError("peek from an empty heap")
        return self._items[0]

    def push(self, item):
        self._items.append(item)
        self._sift_up(len(self._items) - 1)

    def pop(self):
        """Remove and return the smallest item."""
        if not self._items:
            raise IndexError("pop from an empty heap")
        items = self._items
        last = items.pop()
        if not items:
            return last
        top = items[0]
        items[0] = last
        self._sift_down(0)
        return top

    def _sift_up(self, i):
        items = self._items
        while i > 0:
            parent = (i - 1) // 2
            if not items[i] < items[parent]:
                break
            items[i], items[parent] = items[parent], items[i]
            i = parent

    def _sift_down(self, i):
        items = self._items
        n = len(items)
        while True:
            smallest = i
            left, right = 2 * i + 1, 2 * i + 2
            if left < n and items[left] < items[smallest]:
                smallest = left
            if right < n and items[right] < items[smallest]:
                smallest = right
            if smallest == i:
                return
            items[i], items[smallest] = items[smallest], items[i]
            i = smallest
