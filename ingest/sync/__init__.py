"""Keeping sources in sync: `sources.yaml` (config), each source's state and status in Redis
(state), one run of one source through the pipeline (runner), and the schedule (watch)."""
