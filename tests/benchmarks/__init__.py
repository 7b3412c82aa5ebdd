"""Benchmarks: `python -m tests.benchmarks.NAME`; each prints its figures, or one JSON line with --json."""

import json


def print_figures(figures: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures))
        return
    width = max(map(len, figures))
    for name, value in figures.items():
        print(f"{name:>{width}}: {value}")
