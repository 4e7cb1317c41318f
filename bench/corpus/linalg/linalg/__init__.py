"""Small dense linear algebra: vectors, matrices, determinants and linear solves."""
from .vector import Vector, is_close
from .matrix import Matrix

__all__ = ["Vector", "Matrix", "is_close"]
