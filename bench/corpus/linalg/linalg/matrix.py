"""Dense matrices stored as lists of rows."""
import math

from .vector import Vector

EPS = 1e-12


def _eliminate(a, n):
    """Reduce the first `n` columns of the rows `a` to upper-triangular form, in place.

    Rows may be longer than `n` (an augmented matrix); the extra columns are carried along.
    Returns the number of row swaps made, or None when the matrix is singular.
    """
    swaps = 0
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < EPS:
            return None
        if pivot != col:
            a[col], a[pivot] = a[pivot], a[col]
            swaps += 1
        for r in range(col + 1, n):
            factor = a[r][col] / a[col][col]
            for c in range(col, len(a[r])):
                a[r][c] -= factor * a[col][c]
    return swaps


class Matrix:
    """A rectangular matrix of floats."""

    def __init__(self, rows):
        rows = [[float(x) for x in row] for row in rows]
        if not rows or not rows[0] or any(len(row) != len(rows[0]) for row in rows):
            raise ValueError("a matrix needs at least one row and rows of equal length")
        self.rows = rows

    @classmethod
    def identity(cls, n):
        """The n-by-n identity matrix."""
        return cls([[1.0 if i == j else 0.0 for j in range(n)] for i in range(n)])

    @property
    def shape(self):
        """(number of rows, number of columns)."""
        return len(self.rows), len(self.rows[0])

    def __eq__(self, other):
        return isinstance(other, Matrix) and self.rows == other.rows

    def __repr__(self):
        return f"Matrix({self.rows})"

    def transpose(self):
        """Rows become columns."""
        return Matrix([list(col) for col in zip(*self.rows)])

    def __matmul__(self, other):
        """Matrix product with another Matrix, or matrix-vector product with a Vector."""
        if isinstance(other, Vector):
            if self.shape[1] != len(other):
                raise ValueError("matrix and vector shapes do not match")
            return Vector(*(Vector(*row).dot(other) for row in self.rows))
        n, m = self.shape
        m2, _ = other.shape
        if m != m2:
            raise ValueError(f"cannot multiply {self.shape} by {other.shape}")
        cols = other.transpose().rows
        return Matrix([[sum(a * b for a, b in zip(row, col)) for col in cols] for row in self.rows])

    def determinant(self):
        """The determinant of a square matrix."""
        n, m = self.shape
        if n != m:
            raise ValueError("only square matrices have a determinant")
        a = [row[:] for row in self.rows]
        swaps = _eliminate(a, n)
        if swaps is None:
            return 0.0
        return (-1) ** swaps * math.prod(a[i][i] for i in range(n))

    def solve(self, b):
        """The vector x with self @ x == b (Gaussian elimination with partial pivoting)."""
        n, m = self.shape
        if n != m or len(b) != n:
            raise ValueError("solve needs a square matrix and a matching right-hand side")
        a = [row[:] + [bi] for row, bi in zip(self.rows, b)]
        if _eliminate(a, n) is None:
            raise ValueError("the matrix is singular")
        x = [0.0] * n
        for i in range(n - 1, -1, -1):
            done = sum(a[i][j] * x[j] for j in range(i + 1, n))
            x[i] = (a[i][n] - done) / a[i][i]
        return Vector(*x)
