"""Supervisor reports: figures, charts, exports with small-count suppression, voids."""
