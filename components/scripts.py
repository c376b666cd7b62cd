"""Scripts that pulumi-command runs on the machine running Pulumi.

They live as files next to this module so they can be linted and read, and are passed to
`python3 -c` as text so the registered inputs do not depend on where the checkout lives.
"""

from __future__ import annotations

from pathlib import Path

_DIR = Path(__file__).parent / "scripts"

PYTHON = ["python3", "-c"]


def script(name: str) -> str:
    """The script's text, after the prelude every script shares (how to reach the host)."""
    return (_DIR / "_prelude.py").read_text() + "\n" + (_DIR / f"{name}.py").read_text()
