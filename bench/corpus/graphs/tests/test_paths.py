import pytest

from graphs import CycleError, Graph, bfs_order, connected_components, shortest_path, topological_sort


def test_bfs_order():
    g = Graph()
    g.add_edge("a", "b")
    g.add_edge("a", "c")
    g.add_edge("b", "d")
    assert bfs_order(g, "a") == ["a", "b", "c", "d"]


def test_cheaper_path_with_more_hops_wins():
    g = Graph()
    g.add_edge("A", "B", 1)
    g.add_edge("B", "C", 1)
    g.add_edge("A", "C", 5)
    assert shortest_path(g, "A", "C") == (2, ["A", "B", "C"])


def test_unreachable_target():
    g = Graph()
    g.add_edge("A", "B")
    g.add_node("Z")
    assert shortest_path(g, "A", "Z") is None


def test_path_to_itself():
    g = Graph()
    g.add_edge("A", "B")
    assert shortest_path(g, "A", "A") == (0, ["A"])


def test_directed_paths_follow_edge_direction():
    g = Graph(directed=True)
    g.add_edge("A", "B", 1)
    g.add_edge("B", "C", 1)
    assert shortest_path(g, "A", "C") == (2, ["A", "B", "C"])
    assert shortest_path(g, "C", "A") is None


def test_connected_components():
    g = Graph()
    g.add_edge(3, 4)
    g.add_edge(5, 4)
    g.add_edge(2, 1)
    g.add_node(6)
    assert connected_components(g) == [[1, 2], [3, 4, 5], [6]]


def test_topological_sort():
    g = Graph(directed=True)
    g.add_edge("a", "b")
    g.add_edge("a", "c")
    g.add_edge("b", "d")
    g.add_edge("c", "d")
    assert topological_sort(g) == ["a", "b", "c", "d"]


def test_topological_sort_rejects_cycles():
    g = Graph(directed=True)
    g.add_edge("a", "b")
    g.add_edge("b", "a")
    with pytest.raises(CycleError):
        topological_sort(g)
