import pytest

from linalg import Matrix, Vector, is_close


def test_hidden_cross_is_anticommutative_and_orthogonal():
    u, v = Vector(2, -1, 5), Vector(0, 3, -2)
    w = u.cross(v)
    assert w == Vector(-13, 4, 6)
    assert v.cross(u) == w.scale(-1)
    assert w.dot(u) == 0 and w.dot(v) == 0
    assert Vector(0, 0, 1).cross(Vector(1, 0, 0)) == Vector(0, 1, 0)


def test_hidden_product_shapes():
    row = Matrix([[1, 2, 3]])
    col = Matrix([[4], [5], [6]])
    assert row @ col == Matrix([[32]])
    assert (col @ row).shape == (3, 3)
    assert (Matrix([[1, 2], [3, 4], [5, 6]]) @ Matrix([[1, 0, 2, 1], [0, 1, 1, 3]])).shape == (3, 4)
    with pytest.raises(ValueError):
        Matrix([[1, 2, 3], [4, 5, 6]]) @ Matrix([[1, 2, 3], [4, 5, 6]])


def test_hidden_transpose_properties():
    a = Matrix([[1, 2], [3, 4], [5, 6]])
    b = Matrix([[1, 0, 2], [0, 1, 1]])
    assert a.transpose().shape == (2, 3)
    assert a.transpose().transpose() == a
    assert (a @ b).transpose() == b.transpose() @ a.transpose()


def test_hidden_matrix_vector_agrees_with_matrix_product():
    a = Matrix([[2, 0, 1], [1, 3, 2]])
    v = Vector(1, 2, 3)
    assert a @ v == Vector(*(row[0] for row in (a @ Matrix([[1], [2], [3]])).rows))


def test_hidden_determinant_3x3():
    assert Matrix([[6, 1, 1], [4, -2, 5], [2, 8, 7]]).determinant() == pytest.approx(-306)
    assert Matrix([[0, 1, 0], [0, 0, 1], [1, 0, 0]]).determinant() == pytest.approx(1)
    assert Matrix([[0, 1, 0], [1, 0, 0], [0, 0, 1]]).determinant() == pytest.approx(-1)
    assert Matrix.identity(4).determinant() == pytest.approx(1)


def test_hidden_determinant_is_multiplicative():
    a = Matrix([[1, 2], [3, 4]])
    b = Matrix([[0, 5], [2, 1]])
    assert (a @ b).determinant() == pytest.approx(a.determinant() * b.determinant())


def test_hidden_solve_3x3():
    a = Matrix([[2, 1, -1], [-3, -1, 2], [-2, 1, 2]])
    x = a.solve([8, -11, -3])
    assert is_close(x, Vector(2, 3, -1))
    assert is_close(a @ x, Vector(8, -11, -3))


def test_hidden_solve_needs_pivoting():
    x = Matrix([[0, 2], [3, 1]]).solve([4, 5])
    assert is_close(x, Vector(1, 2))
