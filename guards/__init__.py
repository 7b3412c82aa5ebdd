"""Checks on what goes into and comes out of the model. Imports nothing from `bot` or `ingest`."""
