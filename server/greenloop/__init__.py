"""greenloop: a language server for Python projects that keeps the tests green.

The pipeline is the architecture: save -> select (`select/`) -> run (`run/`) -> type check (`typecheck/`) ->
diagnose (`diagnose/`) -> present (`present.py` for the CLI, `lsp/` for editors). `engine.py` drives the stages
for one project; `cli/` and `lsp/server.py` are two faces of that engine.
"""

__version__ = "0.1.0"
