"""Weighted graphs with breadth-first search, Dijkstra, components and topological order."""
from .graph import Graph
from .paths import CycleError, bfs_order, connected_components, dijkstra, shortest_path, topological_sort

__all__ = ["Graph", "CycleError", "bfs_order", "connected_components", "dijkstra", "shortest_path",
           "topological_sort"]
