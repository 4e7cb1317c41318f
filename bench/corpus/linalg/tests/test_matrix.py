import pytest

from linalg import Matrix, Vector, is_close


def test_ragged_rows_are_rejected():
    with pytest.raises(ValueError):
        Matrix([[1, 2], [3]])


def test_identity_and_shape():
    assert Matrix.identity(2) == Matrix([[1, 0], [0, 1]])
    assert Matrix([[1, 2, 3], [4, 5, 6]]).shape == (2, 3)


def test_transpose():
    assert Matrix([[1, 2, 3], [4, 5, 6]]).transpose() == Matrix([[1, 4], [2, 5], [3, 6]])


def test_square_product():
    assert Matrix([[1, 2], [3, 4]]) @ Matrix([[5, 6], [7, 8]]) == Matrix([[19, 22], [43, 50]])


def test_rectangular_product():
    a = Matrix([[1, 2, 3], [4, 5, 6]])
    b = Matrix([[7, 8], [9, 10], [11, 12]])
    assert a @ b == Matrix([[58, 64], [139, 154]])


def test_product_shape_mismatch():
    with pytest.raises(ValueError):
        Matrix([[1, 2]]) @ Matrix([[1, 2]])


def test_matrix_vector_product():
    assert Matrix([[1, 2], [3, 4]]) @ Vector(1, 1) == Vector(3, 7)


def test_determinant_2x2():
    assert Matrix([[3, 8], [4, 6]]).determinant() == pytest.approx(-14)


def test_determinant_needing_a_row_swap():
    assert Matrix([[0, 1], [1, 0]]).determinant() == pytest.approx(-1)


def test_singular_determinant_is_zero():
    assert Matrix([[1, 2], [2, 4]]).determinant() == 0.0


def test_solve_2x2():
    x = Matrix([[2, 1], [1, 3]]).solve([3, 5])
    assert is_close(x, Vector(0.8, 1.4))


def test_solve_singular():
    with pytest.raises(ValueError):
        Matrix([[1, 2], [2, 4]]).solve([1, 2])
