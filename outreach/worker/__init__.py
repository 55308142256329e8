"""The phone side: log an encounter and see the outbox, with or without a network."""

from outreach.worker.views import bp
from outreach.worker.views import offline_urls

__all__ = ["bp", "offline_urls"]
