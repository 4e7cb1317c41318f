"""Stage 4 of the pipeline: repair. propose -> validate -> sandbox run -> judge -> record, round after round.

The folders are the stages, in the order a candidate meets them:

- `propose/`  who suggests the next patch and what they are told: `context.py`, `localise.py`, `edits.py` (reading
  and applying proposed edits), `llm/` (a model through litellm, prompts as data files) and `builtin/` (the search).
- `check/`    what a candidate must get through: `validate.py` (the guards), `sandbox.py` (where it runs),
  `baseline.py` (what failed before), `screen.py` (the search's fast first look), `judge.py` (is it better?).
- `ledger/`   what was tried, kept in SQLite across sessions.
- `present/`  handing the result to a person: the handoff note, the fix waiting for a verdict, and the hand-over
  that fits the patch to the text as it is now (rebased and re-checked, or refused).

At the top: `loop.py` drives the rounds, `session.py` assembles a loop from the settings (for the CLI, the server
and the benchmarks alike), `events.py` and `records.py` are the typed records every stage shares, and `secrets.py`
is the one definition of what never leaves the process.
"""
