"""Funder reports: YAML templates of named fields, each a formula over Outreach's figures."""
