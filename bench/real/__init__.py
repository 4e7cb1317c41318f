"""Helpers of `bench/real_projects.py`: greenloop against real libraries installed from their source distributions.

One module per job: `projects` (what to download, where the workspace and its venv live, the edits and their
guaranteed restore), `pytest_runs` (the baselines: full suite, testmon, the covering tests cold and warm),
`warm_server` (the fork server that runs inside a project's venv), `lsp_probe` and `server_log` (greenloop
through its real language server), `report` (statistics, tables, targets, plot).
"""
