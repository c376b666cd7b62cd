"""MkDocs hook (mkdocs.yml `hooks`): the configuration reference's tables, generated from the
models (config/reference.py) where docs/reference/configuration.md holds the marker."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# MkDocs imports this file by its path; the project's packages are beside scripts/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.reference import MARKER, reference_tables


def on_page_markdown(markdown: str, **_: Any) -> str:
    return markdown.replace(MARKER, reference_tables()) if MARKER in markdown else markdown
