"""A job scheduler: jobs run by due time, then priority, then submission order."""
from dataclasses import dataclass

from .heap import MinHeap


@dataclass
class Job:
    """A named job. Lower `priority` runs first among jobs due at the same time.

    A job with an `interval` repeats every `interval` seconds after its due time.
    """

    name: str
    due: float
    priority: int = 0
    interval: float | None = None


class Scheduler:
    """Pending jobs in a heap; cancelled jobs are skipped lazily when they reach the top."""

    def __init__(self):
        self._heap = MinHeap()
        self._seq = 0
        self._active = {}

    def submit(self, job):
        """Queue `job`; names must be unique among pending jobs."""
        if job.name in self._active:
            raise ValueError(f"a job named {job.name!r} is already pending")
        if job.interval is not None and job.interval <= 0:
            raise ValueError("a repeat interval must be positive")
        self._active[job.name] = job
        self._push(job)

    def _push(self, job):
        self._heap.push((job.due, job.priority, self._seq, job))
        self._seq += 1

    def cancel(self, name):
        """Cancel the pending job called `name`; False when there is none."""
        return self._active.pop(name, None) is not None

    def pending(self):
        """Names of the pending jobs, sorted."""
        return sorted(self._active)

    def _is_live(self, job):
        return self._active.get(job.name) is job

    def next_due(self):
        """Due time of the earliest pending job, or None."""
        while self._heap:
            due, _, _, job = self._heap.peek()
            if self._is_live(job):
                return due
            self._heap.pop()
        return None

    def run_due(self, now):
        """Names of the jobs due at or before `now`, in run order; repeating jobs are queued again."""
        ran = []
        while self._heap and self._heap.peek()[0] <= now:
            _, _, _, job = self._heap.pop()
            if not self._is_live(job):
                continue
            ran.append(job.name)
            if job.interval is None:
                del self._active[job.name]
            else:
                job.due += job.interval
                self._push(job)
        return ran
