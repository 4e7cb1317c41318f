"""Immutable vectors of floats."""
import math


class Vector:
    """An n-dimensional vector supporting the usual arithmetic."""

    def __init__(self, *components):
        self.components = tuple(float(c) for c in components)

    def __len__(self):
        return len(self.components)

    def __iter__(self):
        return iter(self.components)

    def __getitem__(self, index):
        return self.components[index]

    def __eq__(self, other):
        return isinstance(other, Vector) and self.components == other.components

    def __repr__(self):
        return f"Vector{self.components}"

    def _check(self, other):
        if len(self) != len(other):
            raise ValueError(f"dimension mismatch: {len(self)} != {len(other)}")

    def __add__(self, other):
        self._check(other)
        return Vector(*(a + b for a, b in zip(self, other)))

    def __sub__(self, other):
        self._check(other)
        return Vector(*(a - b for a, b in zip(self, other)))

    def scale(self, factor):
        """This vector multiplied by the scalar `factor`."""
        return Vector(*(factor * a for a in self))

    def dot(self, other):
        """The dot product."""
        self._check(other)
        return sum(a * b for a, b in zip(self, other))

    def norm(self):
        """The Euclidean length."""
        return math.sqrt(self.dot(self))

    def normalized(self):
        """The unit vector with this vector's direction."""
        length = self.norm()
        if length == 0:
            raise ValueError("cannot normalize the zero vector")
        return self.scale(1 / length)

    def cross(self, other):
        """The cross product of two 3-vectors."""
        if len(self) != 3 or len(other) != 3:
            raise ValueError("the cross product needs two 3-vectors")
        ax, ay, az = self
        bx, by, bz = other
        return Vector(ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx)


def is_close(u, v, tol=1e-9):
    """True when `u` and `v` have the same length and every component differs by at most `tol`."""
    return len(u) == len(v) and all(abs(a - b) <= tol for a, b in zip(u, v))
