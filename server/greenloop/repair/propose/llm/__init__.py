"""The model proposer: any litellm model, prompts kept as data files in `prompts/`."""
