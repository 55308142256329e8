"""The documentation stands on its own and names tests that exist."""

from __future__ import annotations

import re

import pytest

TEST_REFERENCE = re.compile(r"(tests/[\w/]+\.py)::(\w+)")
DOCUMENTS = ["README.md", "docs/*.md", "bench/README.md", "tests/README.md"]


def _documents(project_dir):
    for pattern in DOCUMENTS:
        yield from sorted(project_dir.glob(pattern))


def test_every_test_a_document_names_exists(project_dir):
    missing = []
    for document in _documents(project_dir):
        for path, name in TEST_REFERENCE.findall(document.read_text(encoding="utf-8")):
            source = project_dir / path
            defined = source.is_file() and re.search(
                rf"^\s*(async )?def {name}\(", source.read_text(encoding="utf-8"), re.M
            )
            if not defined:
                missing.append(f"{document.name}: {path}::{name}")
    assert missing == []


@pytest.mark.parametrize("pattern", ["../shared", "/work/shared", "DESIGN.md"])
def test_documents_never_point_outside_the_repository(project_dir, pattern):
    pointing = [
        str(document.relative_to(project_dir))
        for document in _documents(project_dir)
        if pattern in document.read_text(encoding="utf-8")
    ]
    assert pointing == []


def test_the_test_map_names_every_test_file(project_dir):
    """tests/README.md says which file covers what: a new test file goes on the map, and the
    map names no file that is gone."""
    tests = project_dir / "tests"
    text = (tests / "README.md").read_text(encoding="utf-8")
    files = {
        str(path.relative_to(tests))
        for pattern in (
            "test_*.py",
            "browser/test_*.py",
            "browser/webkit/test_*.py",
            "js/*.test.mjs",
        )
        for path in tests.glob(pattern)
    }
    named = set(
        re.findall(r"`((?:browser/webkit/|browser/|js/)?(?:test_\w+\.py|[\w-]+\.test\.mjs))`", text)
    )
    assert sorted(files - named) == [], "add these to tests/README.md"
    assert sorted(named - files) == [], "tests/README.md names files that do not exist"
