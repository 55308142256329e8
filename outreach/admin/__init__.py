"""Administration: accounts, the catalogues, the audit log."""
