import pytest

from graphs import CycleError, Graph, bfs_order, connected_components, dijkstra, shortest_path, topological_sort


def classic():
    g = Graph()
    for u, v, w in [("s", "a", 7), ("s", "b", 9), ("s", "f", 14), ("a", "b", 10), ("a", "c", 15),
                    ("b", "c", 11), ("b", "f", 2), ("c", "d", 6), ("d", "e", 9), ("e", "f", 9)]:
        g.add_edge(u, v, w)
    return g


def test_hidden_dijkstra_distances():
    dist, _ = dijkstra(classic(), "s")
    assert dist == {"s": 0, "a": 7, "b": 9, "c": 20, "d": 26, "e": 20, "f": 11}


def test_hidden_paths_in_both_directions():
    g = classic()
    assert shortest_path(g, "s", "e") == (20, ["s", "b", "f", "e"])
    assert shortest_path(g, "e", "s") == (20, ["e", "f", "b", "s"])
    assert shortest_path(g, "a", "f") == (12, ["a", "b", "f"])


def test_hidden_directed_asymmetry():
    g = Graph(directed=True)
    g.add_edge("x", "y", 1)
    g.add_edge("y", "x", 10)
    g.add_edge("y", "z", 1)
    assert shortest_path(g, "x", "z") == (2, ["x", "y", "z"])
    assert shortest_path(g, "y", "x") == (10, ["y", "x"])
    assert shortest_path(g, "z", "x") is None
    assert g.neighbors("z") == {}
    assert bfs_order(g, "z") == ["z"]


def test_hidden_bfs_and_components_with_ints():
    g = Graph()
    for u, v in [(10, 11), (11, 12), (10, 13), (20, 21)]:
        g.add_edge(u, v)
    assert bfs_order(g, 12) == [12, 11, 10, 13]
    assert connected_components(g) == [[10, 11, 12, 13], [20, 21]]


def test_hidden_topological_order_keeps_edges_forward():
    g = Graph(directed=True)
    edges = [("shirt", "tie"), ("tie", "jacket"), ("trousers", "shoes"), ("trousers", "belt"),
             ("belt", "jacket"), ("shirt", "belt"), ("socks", "shoes")]
    for u, v in edges:
        g.add_edge(u, v)
    g.add_node("watch")
    order = topological_sort(g)
    assert sorted(order) == sorted(g.nodes())
    for u, v in edges:
        assert order.index(u) < order.index(v)


def test_hidden_cycles_detected():
    g = Graph(directed=True)
    g.add_edge(1, 2)
    g.add_edge(2, 3)
    g.add_edge(3, 1)
    g.add_edge(0, 1)
    with pytest.raises(CycleError):
        topological_sort(g)
