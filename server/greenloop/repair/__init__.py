"""Stage 4 of the pipeline: repair. propose -> validate -> sandbox run -> judge -> record, round after round.

`loop.py` drives the rounds; each step is its own module: `context.py` (what the proposer is told),
`propose/` (who proposes), `edits.py` (reading and applying the proposed edits), `validate.py` (the guards),
`sandbox.py` (where candidates run), `judge.py` (is it better?), `ledger.py` (what was tried, kept in SQLite).
"""
