"""The third-party modules a project imports: what a warm pytest worker can import once, before forking.

The project's own modules are never preloaded: each forked run must import them fresh from the current text.
"""

from __future__ import annotations

from greenloop.select.graph import ImportGraph


def third_party_modules(graph: ImportGraph) -> list[str]:
    """Top-level modules the project imports that are not its own (nor `__future__`)."""
    own = {name.split(".")[0] for name in graph.module_names()}
    found = set()
    for path in graph.files:
        for ref in graph.refs(path):
            if ref.level == 0 and ref.module:
                top = ref.module.split(".")[0]
                if top not in own and top != "__future__":
                    found.add(top)
    return sorted(found)
