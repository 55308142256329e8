"""The running version: from git for a source checkout, else the one the build recorded.

Releases are built by setuptools-scm (pyproject.toml), which names the version from git: the
last tag plus the commits since (``0.3.0.post4+g1a2b3c4``), written into ``_version.py`` in
the wheel. A checkout without git or tags says ``0.0.0+unknown`` rather than a made-up number.
"""

from __future__ import annotations

import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

UNKNOWN = "0.0.0+unknown"
_PROJECT = Path(__file__).resolve().parent.parent


def _from_git() -> str | None:
    """setuptools-scm's answer for a source checkout (dev tools installed), else None."""
    if not (_PROJECT / ".git").exists() or not (_PROJECT / "pyproject.toml").exists():
        return None
    try:
        from setuptools_scm import get_version
    except ImportError:
        return None
    try:
        return get_version(root=str(_PROJECT), fallback_version=UNKNOWN)
    except (LookupError, OSError, subprocess.SubprocessError, ValueError):
        return None


def _recorded() -> str | None:
    try:
        from outreach._version import version
    except ImportError:
        version = None
    if version:
        return str(version)
    try:
        return metadata.version("outreach")
    except metadata.PackageNotFoundError:
        return None


@lru_cache(maxsize=1)
def app_version() -> str:
    return _from_git() or _recorded() or UNKNOWN
