"""Stage 1 of the pipeline: which tests can a change affect? (a static import graph, kept up to date)."""
