import pytest

from taskq import MinHeap


def test_empty_heap():
    heap = MinHeap()
    assert len(heap) == 0 and not heap
    with pytest.raises(IndexError):
        heap.pop()
    with pytest.raises(IndexError):
        heap.peek()


def test_peek_sees_the_smallest():
    heap = MinHeap()
    heap.push(5)
    heap.push(1)
    assert heap.peek() == 1
    assert len(heap) == 2


def test_pops_in_sorted_order():
    values = [14, 15, 45, 25, 24, 13, 39, 9, 46, 19, 47]
    heap = MinHeap(values)
    assert [heap.pop() for _ in values] == sorted(values)


def test_tuples_compare_field_by_field():
    heap = MinHeap([(2, "b"), (1, "z"), (2, "a")])
    assert [heap.pop() for _ in range(3)] == [(1, "z"), (2, "a"), (2, "b")]
