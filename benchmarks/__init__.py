"""Benchmarks of the portal against a bare Pyramid view: see docs/benchmarks.md.

Run from the repository root: ``.venv/bin/python -m benchmarks.run --help``.
"""
