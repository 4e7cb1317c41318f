"""A hand-written binary heap and a job scheduler built on it."""
from .heap import MinHeap
from .scheduler import Job, Scheduler

__all__ = ["MinHeap", "Job", "Scheduler"]
