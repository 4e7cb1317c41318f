"""The built-in proposer: a search over small syntax-aware edits of the most suspicious lines; no model needed."""
