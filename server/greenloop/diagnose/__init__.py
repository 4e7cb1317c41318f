"""Stage 3 of the pipeline: turn test outcomes into diagnostics placed where they belong."""
