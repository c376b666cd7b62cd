"""Another checkout of the project, as `git clone` gives one: the program, nothing generated."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.deployers import PROJECT_DIR

# What a clone holds that the program needs; never .jhub-docker/, .venv/ or caches.
PROGRAM = ("Pulumi.yaml", "__main__.py", "requirements.txt", "components", "hub", "notebook")


def fresh_checkout(destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    for name in PROGRAM:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    return destination
