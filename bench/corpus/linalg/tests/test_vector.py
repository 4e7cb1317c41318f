import math

import pytest

from linalg import Vector, is_close


def test_add_and_subtract():
    assert Vector(1, 2) + Vector(3, 4) == Vector(4, 6)
    assert Vector(1, 2) - Vector(3, 5) == Vector(-2, -3)


def test_dimension_mismatch():
    with pytest.raises(ValueError):
        Vector(1, 2) + Vector(1, 2, 3)


def test_dot_and_norm():
    assert Vector(1, 2, 3).dot(Vector(4, -5, 6)) == 12
    assert Vector(3, 4).norm() == 5


def test_normalized():
    assert is_close(Vector(0, 3, 4).normalized(), Vector(0, 0.6, 0.8))
    with pytest.raises(ValueError):
        Vector(0, 0).normalized()


def test_cross_of_basis_vectors():
    assert Vector(1, 0, 0).cross(Vector(0, 1, 0)) == Vector(0, 0, 1)


def test_cross_product():
    assert Vector(1, 2, 3).cross(Vector(4, 5, 6)) == Vector(-3, 6, -3)


def test_scale():
    assert Vector(1, -2).scale(2.5) == Vector(2.5, -5)
    assert math.isclose(Vector(1, 1).scale(3).norm(), 3 * math.sqrt(2))
