"""Traversals and shortest paths over `Graph`."""
import heapq
from collections import deque


class CycleError(ValueError):
    """A topological order was requested for a graph with a cycle."""


def bfs_order(graph, start):
    """Nodes reachable from `start`, in breadth-first order."""
    seen = {start}
    order = []
    queue = deque([start])
    while queue:
        node = queue.popleft()
        order.append(node)
        for nxt in graph.neighbors(node):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return order


def dijkstra(graph, source):
    """Shortest distances from `source`: returns (dist, prev) for every reachable node."""
    dist = {source: 0}
    prev = {}
    heap = [(0, 0, source)]
    pushed = 1  # tie-breaker, so nodes themselves never need to be comparable
    done = set()
    while heap:
        d, _, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        for nxt, w in graph.neighbors(node).items():
            nd = d + w
            if nxt not in dist or nd < dist[nxt]:
                dist[nxt] = nd
                prev[nxt] = node
                heapq.heappush(heap, (nd, pushed, nxt))
                pushed += 1
    return dist, prev


def shortest_path(graph, source, target):
    """(cost, [source, ..., target]) for a cheapest path, or None when `target` is unreachable."""
    if source not in graph or target not in graph:
        raise KeyError("both endpoints must be in the graph")
    dist, prev = dijkstra(graph, source)
    if target not in dist:
        return None
    path = [target]
    while path[-1] != source:
        path.append(prev[path[-1]])
    return dist[target], path[::-1]


def connected_components(graph):
    """Components of an undirected graph, each sorted, ordered by their smallest node."""
    seen = set()
    components = []
    for node in graph.nodes():
        if node not in seen:
            component = bfs_order(graph, node)
            seen.update(component)
            components.append(sorted(component))
    return sorted(components)


def topological_sort(graph):
    """An order of a directed graph's nodes with every edge pointing forward (Kahn's algorithm)."""
    indegree = {node: 0 for node in graph.nodes()}
    for node in graph.nodes():
        for nxt in graph.neighbors(node):
            indegree[nxt] += 1
    queue = deque(node for node in graph.nodes() if indegree[node] == 0)
    order = []
    while queue:
        node = queue.popleft()
        order.append(node)
        for nxt in graph.neighbors(node):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                queue.append(nxt)
    if len(order) != len(indegree):
        raise CycleError("the graph has a cycle")
    return order
