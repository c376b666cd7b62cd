"""Which files of a build context reach the build: `.dockerignore`, as Docker reads it.

pulumi-docker hashes exactly these files (with their modes) to decide whether an Image must be
built again (provider/provider.go `hashContext`: `<Dockerfile>.dockerignore` first, else
`<context>/.dockerignore`; moby's patternmatcher semantics). The program tags images with a
hash of the same files, so a tag changes exactly when the provider would rebuild.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path


def _regex(pattern: str) -> re.Pattern[str]:
    """A pattern as moby's patternmatcher reads it: `*` and `?` within one path element, `**`
    across elements, `[...]` classes."""
    out = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif char == "*":
            out, i = out + "[^/]*", i + 1
        elif char == "?":
            out, i = out + "[^/]", i + 1
        elif char == "[" and "]" in pattern[i:]:
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        elif char == "\\" and i + 1 < len(pattern):
            out, i = out + re.escape(pattern[i + 1]), i + 2
        else:
            out, i = out + re.escape(char), i + 1
    return re.compile(f"^{out}$")


def read_patterns(context: Path, dockerfile: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """(excludes, pattern) in file order; a `!` pattern re-includes."""
    for candidate in (Path(f"{dockerfile}.dockerignore"), context / ".dockerignore"):
        if candidate.is_file():
            patterns = []
            for line in candidate.read_text().splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                excludes = not line.startswith("!")
                text = os.path.normpath(line.removeprefix("!").strip()).lstrip("/")
                patterns.append((excludes, _regex(text)))
            return patterns
    return []


def _ignored(relative: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """The last pattern that matches the path, or one of its parent directories, decides."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for excludes, pattern in patterns:
        if any(pattern.match(candidate) for candidate in candidates):
            ignored = excludes
    return ignored


def context_files(context: Path, dockerfile: Path) -> Iterator[tuple[str, Path]]:
    """(relative path, path) of every file a build sends, in a stable order."""
    patterns = read_patterns(context, dockerfile)
    for root, dirs, files in os.walk(context):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            relative = path.relative_to(context).as_posix()
            if not _ignored(relative, patterns):
                yield relative, path
