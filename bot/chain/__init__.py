"""The answer chain: preprocess, retrieve, prompt, generate through the cascade, validate, remember."""
