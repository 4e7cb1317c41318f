"""The repair's memory: every repair and every attempt, in SQLite under `.greenloop/` in the workspace."""
