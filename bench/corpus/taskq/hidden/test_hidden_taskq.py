import random

from taskq import Job, MinHeap, Scheduler


def test_hidden_heap_matches_sorting_with_duplicates():
    rng = random.Random(20240601)
    for _ in range(200):
        values = [rng.randint(0, 20) for _ in range(rng.randint(1, 30))]
        heap = MinHeap(values)
        assert [heap.pop() for _ in values] == sorted(values)


def test_hidden_heap_interleaved_push_pop():
    rng = random.Random(7)
    heap, model = MinHeap(), []
    for _ in range(500):
        if model and rng.random() < 0.4:
            model.sort()
            assert heap.pop() == model.pop(0)
        else:
            value = rng.randint(-50, 50)
            heap.push(value)
            model.append(value)
        assert len(heap) == len(model)
        if model:
            assert heap.peek() == min(model)


def test_hidden_due_boundaries():
    s = Scheduler()
    s.submit(Job("a", due=2.5))
    s.submit(Job("b", due=4.0))
    assert s.run_due(2.4) == []
    assert s.run_due(2.5) == ["a"]
    assert s.run_due(4.0) == ["b"]
    assert s.next_due() is None


def test_hidden_repeating_job_catches_up():
    s = Scheduler()
    s.submit(Job("t", due=0, interval=10))
    assert s.run_due(35) == ["t", "t", "t", "t"]
    assert s.next_due() == 40
    s.submit(Job("once", due=41))
    assert s.run_due(50) == ["t", "once", "t"]
    assert s.pending() == ["t"]


def test_hidden_many_ties():
    s = Scheduler()
    names = [f"job{i}" for i in range(8)]
    for i, name in enumerate(names):
        s.submit(Job(name, due=7, priority=i % 2))
    assert s.run_due(7) == names[0::2] + names[1::2]
