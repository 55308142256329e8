"""Build a release a server installs with Python only: `make release` (or this script).

Writes ``dist/outreach-<version>.tar.gz`` holding:
- ``outreach-<version>-py3-none-any.whl``: the app with its built front end (static/dist),
  templates, migrations, compiled translations and content inside (``outreach/_bundled``);
- ``wheels/``: every dependency as a wheel, pinned by constraints.txt, so the server needs
  no compiler, no Node and no network (``pip install --no-index --find-links wheels``);
- ``deploy/`` and ``docs/deploy.md``: the service unit, proxy configs and the guide.

Run it after ``make setup`` (the front end and translations must be built).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "src", "*.po", "*.pot")
# What the running app reads from the top-level folders (static/src is only build input).
BUNDLED = {
    "templates": ROOT / "templates",
    "migrations": ROOT / "migrations",
    "static": ROOT / "static",
}


def version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    return re.search(r'^version = "([^"]+)"', text, re.MULTILINE).group(1)


def check_built() -> None:
    missing = [
        path
        for path in (
            ROOT / "static" / "dist" / "build.json",
            ROOT / "static" / "dist" / "sw.js",
            ROOT / "outreach" / "translations" / "es" / "LC_MESSAGES" / "messages.mo",
        )
        if not path.exists()
    ]
    if missing:
        sys.exit(f"Not built yet: {', '.join(map(str, missing))} (run 'make setup' first)")


def stage(directory: Path) -> Path:
    """A copy of the package with the top-level folders inside it, ready for a wheel."""
    source = directory / "source"
    shutil.copytree(
        ROOT / "outreach",
        source / "outreach",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "_bundled"),
    )
    for name, folder in BUNDLED.items():
        shutil.copytree(folder, source / "outreach" / "_bundled" / name, ignore=IGNORED)
    pyproject = (ROOT / "pyproject.toml").read_text()
    # The package's own data files, plus the front end, templates and migrations bundled in.
    pyproject = pyproject.replace(
        'outreach = ["content/**/*", "translations/**/*",',
        'outreach = ["content/**/*", "translations/**/*", "_bundled/**/*",',
    )
    assert "_bundled/**/*" in pyproject, "pyproject.toml package-data changed"
    (source / "pyproject.toml").write_text(pyproject)
    shutil.copy(ROOT / "README.md", source / "README.md")
    return source


def build(out: Path) -> Path:
    check_built()
    out.mkdir(parents=True, exist_ok=True)
    name = f"outreach-{version()}"
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        source = stage(work)
        release = work / name
        wheels = release / "wheels"
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
        subprocess.run(  # noqa: S603 (this interpreter's pip, fixed arguments)
            [*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(release), str(source)],
            check=True,
        )
        app_wheel = next(release.glob("outreach-*.whl"))
        runtime_constraints = release / "constraints.txt"
        shutil.copy(ROOT / "constraints.txt", runtime_constraints)
        subprocess.run(  # noqa: S603 (this interpreter's pip, fixed arguments)
            [
                *(*pip, "wheel", "--quiet", "--wheel-dir", str(wheels)),
                *("--constraint", str(runtime_constraints), str(app_wheel)),
            ],
            check=True,
        )
        (wheels / app_wheel.name).unlink(missing_ok=True)
        shutil.copytree(ROOT / "deploy", release / "deploy")
        (release / "docs").mkdir()
        shutil.copy(ROOT / "docs" / "deploy.md", release / "docs" / "deploy.md")
        archive = out / f"{name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(release, arcname=name)
    return archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="default: dist/")
    archive = build(parser.parse_args().out)
    print(f"Release written to {archive}")


if __name__ == "__main__":
    main()
