"""The phone-facing JSON API: session, catalogue and idempotent encounter sync."""
