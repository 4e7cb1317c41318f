"""Weighted graphs stored as adjacency maps."""


class Graph:
    """A weighted graph, undirected unless `directed=True`; nodes are any hashable values.

    Nodes and neighbours are kept in insertion order, which makes traversals deterministic.
    """

    def __init__(self, directed=False):
        self.directed = directed
        self._adj = {}

    def __contains__(self, node):
        return node in self._adj

    def __len__(self):
        return len(self._adj)

    def add_node(self, node):
        self._adj.setdefault(node, {})

    def add_edge(self, u, v, weight=1):
        """Add (or re-weight) the edge u -> v, and v -> u for an undirected graph."""
        if weight < 0:
            raise ValueError("negative weights are not supported")
        self.add_node(u)
        self.add_node(v)
        self._adj[u][v] = weight
        if not self.directed:
            self._adj[v][u] = weight

    def nodes(self):
        return list(self._adj)

    def neighbors(self, node):
        """A {neighbour: weight} dict of the edges leaving `node`."""
        if node not in self._adj:
            raise KeyError(f"no node {node!r}")
        return dict(self._adj[node])

    def edges(self):
        """Every edge once as (u, v, weight); an undirected edge appears in one direction only."""
        seen = set()
        result = []
        for u, targets in self._adj.items():
            for v, weight in targets.items():
                if not self.directed and (v, u) in seen:
                    continue
                seen.add((u, v))
                result.append((u, v, weight))
        return result
