"""Build a release a server installs with Python only: `make release` (or this script).

Writes ``dist/outreach-<version>.tar.gz``, ``<version>`` from git by setuptools-scm (the last
tag plus the commits since, ``0.0.0+unknown`` without git), holding:
- ``outreach-<version>-py3-none-any.whl``: the app with its built front end (static/dist),
  templates, migrations, compiled translations, content and ``_version.py`` inside;
- ``wheels/``: every dependency as a wheel, pinned by constraints.txt, so the server needs
  no compiler, no Node and no network (``pip install --no-index --find-links wheels``);
- ``target.json`` and ``install.py``: the Python the release is built for (this interpreter's
  implementation and minor version, any patch release of it, on this CPU and C library), and
  the installer that refuses any other Python in one line before pip says anything;
- ``deploy/`` and ``docs/deploy.md``: the service unit, timers, proxy configs and the guide.

Run it after ``make setup`` (the front end and translations must be built).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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


UNKNOWN_VERSION = "0.0.0+unknown"


def version() -> str:
    """This checkout's version from git (setuptools-scm), or 0.0.0+unknown without git."""
    try:
        from setuptools_scm import get_version
    except ImportError:
        sys.exit("setuptools-scm is missing: run 'make setup' first")
    return get_version(root=str(ROOT), fallback_version=UNKNOWN_VERSION)


def target() -> dict:
    """The Python this release's wheels are for: implementation, minor version, CPU."""
    return {
        "implementation": sys.implementation.name,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "machine": platform.machine(),
    }


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


def stage(directory: Path, release_version: str) -> Path:
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
    # The staged copy has no git history: the version found here is written in for it.
    (source / "outreach" / "_version.py").write_text(
        f"__version__ = version = {release_version!r}\n"
    )
    shutil.copy(ROOT / "README.md", source / "README.md")
    return source


def build(out: Path) -> Path:
    check_built()
    out.mkdir(parents=True, exist_ok=True)
    release_version = version()
    name = f"outreach-{release_version}"
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        source = stage(work, release_version)
        release = work / name
        wheels = release / "wheels"
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
        subprocess.run(  # noqa: S603 (this interpreter's pip, fixed arguments)
            [*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(release), str(source)],
            check=True,
            env={**os.environ, "SETUPTOOLS_SCM_PRETEND_VERSION": release_version},
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
        add_wheels_for_every_patch_release(wheels, pip, runtime_constraints)
        (wheels / app_wheel.name).unlink(missing_ok=True)
        (release / "target.json").write_text(json.dumps(target(), indent=2) + "\n")
        shutil.copy(ROOT / "scripts" / "install_release.py", release / "install.py")
        shutil.copytree(ROOT / "deploy", release / "deploy")
        (release / "docs").mkdir()
        shutil.copy(ROOT / "docs" / "deploy.md", release / "docs" / "deploy.md")
        archive = out / f"{name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(release, arcname=name)
    return archive


def requirements_of_other_patch_releases(wheels: Path) -> list[str]:
    """Requirements the wheels declare for other patch releases of this Python only.

    pip resolves markers for the building interpreter: redis needs async-timeout only on
    Python < 3.11.3, so a release built on 3.11.7 lacked it and did not install on Debian
    12's 3.11.2. Each wheel's markers are evaluated for every patch release of this minor
    version; what any of them needs beyond what the build needs is added.
    """
    import zipfile

    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    here = default_environment()
    wanted: set[str] = set()
    for wheel in wheels.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = archive.read(name).decode("utf-8", "replace")
        for line in metadata.splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            requirement = Requirement(line.partition(":")[2].strip())
            marker = requirement.marker
            if marker is None or "extra" in str(marker) or marker.evaluate(here):
                continue
            for patch in range(100):
                environment = {
                    **here,
                    "python_full_version": f"{minor}.{patch}",
                    "python_version": minor,
                }
                if marker.evaluate(environment):
                    wanted.add(requirement.name)
                    break
    return sorted(wanted)


def add_wheels_for_every_patch_release(wheels: Path, pip: list[str], constraints: Path) -> None:
    extra = requirements_of_other_patch_releases(wheels)
    if extra:
        subprocess.run(  # noqa: S603 (this interpreter's pip, fixed arguments)
            [
                *(*pip, "wheel", "--quiet", "--wheel-dir", str(wheels)),
                *("--constraint", str(constraints), *extra),
            ],
            check=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="default: dist/")
    archive = build(parser.parse_args().out)
    print(f"Release written to {archive}")


if __name__ == "__main__":
    main()
