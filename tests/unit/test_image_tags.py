"""Image tags follow pulumi-docker's own rebuild decision (item 5 of the real-engine rules).

The provider rebuilds an Image when its context digest changes (tests/harness/context_hash.py
models `hashContext`); the program's tag must change in exactly the same cases, or a rebuilt
image keeps its old tag and the containers using it are never replaced.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from plan.build import BuildSpec, context_hash, own_notebook_build
from tests.deployers import PROJECT_DIR
from tests.harness.context_hash import provider_context_digest


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _both(context: Path) -> tuple[str, str]:
    return context_hash(context, "Dockerfile", {}), provider_context_digest(context, context / "Dockerfile")


@pytest.fixture
def context(tmp_path: Path) -> Path:
    directory = tmp_path / "ctx"
    directory.mkdir()
    (directory / "Dockerfile").write_text("FROM base\nCOPY . /app/\n")
    (directory / "app.py").write_text("print('hi')\n")
    (directory / "README.md").write_text("read me\n")
    (directory / "NOTES.md").write_text("notes\n")
    (directory / "lib").mkdir()
    (directory / "lib" / "util.py").write_text("x = 1\n")
    (directory / ".dockerignore").write_text("**/__pycache__\n*.md\n!README.md\nbuild/\n")
    return directory


EDITS: dict[str, tuple[Callable[[Path], object], bool]] = {
    "a bytecode cache the ignore file excludes": (
        lambda c: _write(c / "lib" / "__pycache__" / "util.pyc", b"x"),
        False,
    ),
    "a file in an ignored directory": (
        lambda c: _write(c / "build" / "out", b"o"),
        False,
    ),
    "an ignored markdown file": (lambda c: (c / "NOTES.md").write_text("more notes\n"), False),
    "a markdown file re-included by !README.md": (lambda c: (c / "README.md").write_text("changed\n"), True),
    "a file's content": (lambda c: (c / "lib" / "util.py").write_text("x = 2\n"), True),
    "a file's mode (chmod +x)": (lambda c: (c / "app.py").chmod(0o755), True),
    "the Dockerfile": (lambda c: (c / "Dockerfile").write_text("FROM base\nCOPY . /srv/\n"), True),
    "a new file": (lambda c: (c / "new.txt").write_text("n"), True),
    "a renamed file": (lambda c: (c / "app.py").rename(c / "main.py"), True),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_real_engine_the_tag_changes_exactly_when_the_providers_context_digest_does(
    context: Path, edit: str
) -> None:
    change, rebuilds = EDITS[edit]
    tag_before, digest_before = _both(context)
    change(context)
    tag_after, digest_after = _both(context)
    assert (digest_after != digest_before) is rebuilds, "the model of the provider"
    assert (tag_after != tag_before) is rebuilds, "the program's tag"


def test_build_args_change_the_tag(context: Path) -> None:
    assert context_hash(context, "Dockerfile", {"A": "1"}) != context_hash(context, "Dockerfile", {"A": "2"})


@pytest.mark.parametrize("image", ["hub", "notebook", "firewall"])
def test_real_engine_the_image_contexts_ignore_bytecode_caches(image: str, tmp_path: Path) -> None:
    context = tmp_path / image
    shutil.copytree(PROJECT_DIR / image, context)
    before = _both(context)
    (context / "__pycache__").mkdir(exist_ok=True)
    (context / "__pycache__" / "jupyterhub_config.cpython-311.pyc").write_bytes(b"\0")
    assert _both(context) == before


@pytest.mark.parametrize(
    ("context", "dockerfile", "trusted"),
    [
        ("notebook", "Dockerfile", True),
        ("./notebook/", "Dockerfile", True),
        ("notebook", "Dockerfile.gpu", False),  # another recipe in the same folder
        ("examples/lesson-image", "Dockerfile", False),
    ],
)
def test_only_the_projects_notebook_build_is_checked_by_its_label(
    context: str, dockerfile: str, trusted: bool
) -> None:
    spec = BuildSpec(repository="r", context=context, dockerfile=dockerfile, build_args={}, tag="t")
    assert own_notebook_build(spec) is trusted
    # A pulled image is always asked, whatever its label says.
    assert own_notebook_build("quay.io/jupyter/base-notebook:latest") is False
