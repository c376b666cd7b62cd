"""Docker-safe names for users and named servers, bounded in length.

DockerSpawner's escaping keeps a-z and 0-9 and writes every other byte as '-' and two hex
digits (dockerspawner.py `_escape`), so distinct names stay distinct. But the result has no
bound: a long or non-Latin username grows up to nine characters per letter, and the engine
refuses a volume whose name is longer than a file name may be (255 bytes: the local driver
makes /var/lib/docker/volumes/<name>), so such a user could log in but never start a server.
Past `MAX_ESCAPED` characters the name is cut and a digest of the whole name appended.
"""

from __future__ import annotations

import hashlib

from dockerspawner import DockerSpawner

# Room for the stack's prefix, a username and a named server's name in one volume name.
MAX_ESCAPED = 100
DIGEST_CHARS = 20  # 80 bits of SHA-256: no two names collide by chance
# 'h' is not a hex digit, so "-h" never occurs in an escaped name: a shortened name cannot
# equal the escaped form of another one.
MARK = "-h"


def escape(text: str) -> str:
    """DockerSpawner's escaping, unchanged up to MAX_ESCAPED characters (existing containers and
    volumes keep their names), shortened with a digest beyond."""
    escaped: str = DockerSpawner._escape(text)
    if len(escaped) <= MAX_ESCAPED:
        return escaped
    digest = hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]
    prefix = escaped[: MAX_ESCAPED - len(MARK) - DIGEST_CHARS]
    # Never end on a cut escape sequence ("-" or "-2"): the result would hold "--", which
    # separates the user from the server in home volume names (hub/servers.py).
    cut = prefix.rfind("-")
    if cut >= len(prefix) - 2:
        prefix = prefix[:cut]
    return prefix + MARK + digest
