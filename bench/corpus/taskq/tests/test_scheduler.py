import pytest

from taskq import Job, Scheduler


def test_jobs_run_in_due_order():
    s = Scheduler()
    s.submit(Job("c", due=30))
    s.submit(Job("a", due=10))
    s.submit(Job("b", due=20))
    assert s.run_due(25) == ["a", "b"]
    assert s.pending() == ["c"]


def test_job_due_exactly_now_runs():
    s = Scheduler()
    s.submit(Job("a", due=10))
    assert s.run_due(10) == ["a"]


def test_priority_breaks_ties_in_due_time():
    s = Scheduler()
    s.submit(Job("x", due=5, priority=2))
    s.submit(Job("y", due=5, priority=1))
    assert s.run_due(5) == ["y", "x"]


def test_submission_order_breaks_remaining_ties():
    s = Scheduler()
    for name in ["j1", "j2", "j3"]:
        s.submit(Job(name, due=1))
    assert s.run_due(1) == ["j1", "j2", "j3"]


def test_cancelled_jobs_do_not_run():
    s = Scheduler()
    s.submit(Job("a", due=1))
    s.submit(Job("b", due=2))
    assert s.cancel("a") is True
    assert s.cancel("nope") is False
    assert s.next_due() == 2
    assert s.run_due(10) == ["b"]


def test_resubmitting_a_cancelled_name():
    s = Scheduler()
    s.submit(Job("a", due=1))
    s.cancel("a")
    s.submit(Job("a", due=3))
    assert s.run_due(2) == []
    assert s.run_due(3) == ["a"]


def test_repeating_job_keeps_its_cadence():
    s = Scheduler()
    s.submit(Job("tick", due=10, interval=5))
    assert s.run_due(12) == ["tick"]
    assert s.next_due() == 15
    assert s.run_due(16) == ["tick"]


def test_invalid_submissions():
    s = Scheduler()
    s.submit(Job("a", due=1))
    with pytest.raises(ValueError):
        s.submit(Job("a", due=2))
    with pytest.raises(ValueError):
        s.submit(Job("b", due=2, interval=0))
