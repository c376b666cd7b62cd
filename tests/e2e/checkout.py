"""Another checkout of the project, as `git clone` gives one: the program, nothing generated."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.deployers import PROJECT_DIR

# What a clone holds that the program needs; never .jhub-docker/, .venv/ or caches.
PROGRAM = (
    "Pulumi.yaml",
    "__main__.py",
    "requirements.txt",
    "config",
    "plan",
    "components",
    "host_scripts",
    "firewall",
    "hub",
    "notebook",
)


def fresh_checkout(destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    for name in PROGRAM:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    return destination


def default_notebook_image(destination: Path) -> Path:
    """The default notebook image's build context (`notebook/`, whole), as the docs tell a
    teacher to start a workshop image: a test then adds its own lines to the Dockerfile."""
    shutil.copytree(PROJECT_DIR / "notebook", destination, dirs_exist_ok=True)
    return destination
