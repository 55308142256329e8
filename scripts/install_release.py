"""Install this release into its own virtualenv: python3 install.py /opt/outreach/releases/V

Shipped in the release tarball as ``install.py`` (see scripts/build_release.py). The wheels in
``wheels/`` were built for one Python (``target.json``: implementation, minor version, CPU and
C library); this installer refuses any other Python with one line before pip runs, instead of
pip's "No matching distribution" pages. Each release goes into its own folder, so the one
running is untouched until the ``current`` link is switched (docs/deploy.md, "Upgrades").
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def python_mismatch(target: dict) -> str | None:
    """Why this interpreter cannot use the release's wheels, or None when it can."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if sys.implementation.name != target["implementation"] or running != target["python"]:
        return (
            f"this release is built for {target['implementation']} {target['python']}.x "
            f"({target['machine']}), not {sys.implementation.name} {platform.python_version()}: "
            f"install it with python{target['python']}, or build the release on a system "
            f"like this server"
        )
    if platform.machine() != target["machine"]:
        return (
            f"this release is built for {target['machine']} processors, "
            f"not {platform.machine()}: build the release on a system like this server"
        )
    return None


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python3 install.py DESTINATION   (a new folder)", file=sys.stderr)
        return 2
    destination = Path(sys.argv[1])
    target = json.loads((HERE / "target.json").read_text())
    problem = python_mismatch(target)
    if problem:
        print(f"Install refused: {problem}", file=sys.stderr)
        return 1
    if destination.exists() and any(destination.iterdir()):
        print(
            f"Install refused: {destination} is not empty (one folder per release)", file=sys.stderr
        )
        return 1
    subprocess.run([sys.executable, "-m", "venv", str(destination)], check=True)  # noqa: S603
    wheel = next(HERE.glob("outreach-*.whl"))
    subprocess.run(  # noqa: S603 (the new virtualenv's pip, fixed arguments)
        [
            str(destination / "bin" / "pip"),
            *("install", "--quiet", "--disable-pip-version-check", "--no-index"),
            *("--find-links", str(HERE / "wheels"), str(wheel)),
        ],
        check=True,
    )
    print(f"Installed {wheel.name} into {destination}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
