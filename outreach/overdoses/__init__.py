"""Overdose responses: an overdose a worker responded to or heard of, logged offline.

contract.py is the sync contract (also the OpenAPI schema); ingest.py stores a batch exactly
once per id; figures.py is what reports count; voids.py takes one out of every report.
"""
