"""pulumi-docker's build context digest, as its Image Check computes it.

Upstream: pulumi/pulumi-docker provider/provider.go, `hashContext` and
`contextHashAccumulator.hashPath` (read at 237b7899, v5.1.0+). The digest is sha256 over, for the
Dockerfile first (under the name "Dockerfile", mode 0) and then every file of the context in
walk order that `.dockerignore` does not exclude: the slash-separated relative path, Go's
`FileMode.String()`, sha256 of the content (of the resolved target path for a symlink), a zero
byte. Directories do not count; nothing is excluded but what the ignore file says, so
`__pycache__` counts. `<Dockerfile>.dockerignore` wins over `<context>/.dockerignore`.

The ignore patterns are matched with docker-py's implementation of moby's patternmatcher
(`docker.utils.build.PatternMatcher`): an implementation independent of the program's, so the
test that compares the two can fail.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from docker.utils.build import PatternMatcher

from .values import HarnessError


def go_file_mode(mode: int) -> str:
    """Go's `fs.FileMode.String()` for the file types a build context holds."""
    if stat.S_ISREG(mode):
        kind = "-"
    elif stat.S_ISLNK(mode):
        kind = "L"
    elif mode == 0:
        kind = "-"
    else:
        raise HarnessError(f"a build context file of mode {oct(mode)} is not modelled")
    bits = "rwxrwxrwx"
    return kind + "".join(bits[i] if mode & (1 << (8 - i)) else "-" for i in range(9))


def _ignore_patterns(context: Path, dockerfile: Path) -> list[str]:
    for candidate in (Path(f"{dockerfile}.dockerignore"), context / ".dockerignore"):
        if candidate.is_file():
            lines = (line.strip() for line in candidate.read_text().splitlines())
            return [line for line in lines if line and not line.startswith("#")]
    return []


def _entry(path: Path, relative: str, mode: int) -> bytes:
    if stat.S_ISLNK(mode):
        content = os.path.realpath(path).encode()
    elif stat.S_ISREG(mode):
        content = path.read_bytes()
    else:
        content = b""
    return relative.encode() + go_file_mode(mode).encode() + hashlib.sha256(content).digest() + b"\0"


def provider_context_digest(context: Path, dockerfile: Path) -> str:
    if not context.is_dir():
        raise HarnessError(f"build context {context} is not a directory")
    # The Dockerfile first, as "Dockerfile" with mode 0 whatever its name: only its content counts.
    stream = (
        b"Dockerfile" + go_file_mode(0).encode() + hashlib.sha256(dockerfile.read_bytes()).digest() + b"\0"
    )
    included = set(PatternMatcher(_ignore_patterns(context, dockerfile)).walk(str(context)))
    for path in _walk_dir(context):
        relative = path.relative_to(context).as_posix()
        if relative in included:
            stream += _entry(path, relative, os.lstat(path).st_mode)
    return hashlib.sha256(stream).hexdigest()


def _walk_dir(directory: Path) -> list[Path]:
    """Go's filepath.WalkDir order: entries sorted by name, a directory's files where it sorts;
    symlinks are not followed."""
    found: list[Path] = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            found += _walk_dir(path)
        else:
            found.append(path)
    return found
