"""Stage 2 of the pipeline: run the selected tests in the project's own interpreter, never in ours."""
