import pytest

from graphs import Graph


def test_undirected_edges_go_both_ways():
    g = Graph()
    g.add_edge("a", "b", 3)
    assert g.neighbors("a") == {"b": 3}
    assert g.neighbors("b") == {"a": 3}


def test_directed_edges_go_one_way():
    g = Graph(directed=True)
    g.add_edge("a", "b", 3)
    assert g.neighbors("b") == {}


def test_negative_weight_is_rejected():
    with pytest.raises(ValueError):
        Graph().add_edge("a", "b", -1)


def test_unknown_node():
    with pytest.raises(KeyError):
        Graph().neighbors("ghost")


def test_undirected_edges_are_listed_once():
    g = Graph()
    g.add_edge("a", "b", 1)
    g.add_edge("b", "c", 2)
    assert g.edges() == [("a", "b", 1), ("b", "c", 2)]
    assert len(g) == 3
