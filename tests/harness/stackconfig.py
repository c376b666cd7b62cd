"""Reads a `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to the program."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .values import HarnessError


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return ("secure" in value and len(value) == 1) or any(_has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure(v) for v in value)
    return False


def _segments(path: str) -> list[str | int]:
    """`shared[0].source.cifs.password` -> ["shared", 0, "source", "cifs", "password"]: the
    property-path syntax `pulumi config set --path` takes (pulumi/pulumi
    sdk/go/common/resource/properties_path.go `ParsePropertyPath`), names and list indices."""
    segments: list[str | int] = []
    for part in path.split("."):
        name, *indices = part.split("[")
        if name:
            segments.append(name)
        for index in indices:
            if not index.endswith("]") or not index[:-1].isdigit():
                raise HarnessError(f"config path {path!r}: bad index [{index}")
            segments.append(int(index[:-1]))
    return segments


def _set_path(config: dict[str, Any], namespace: str, path: str, value: Any) -> str:
    """Set `auth.password` or `shared[0].source.cifs.password` like `pulumi config set
    --path`; returns the top-level key."""
    top, *rest = _segments(path)
    assert isinstance(top, str)
    key = top if ":" in top else f"{namespace}:{top}"
    if not rest:
        config[key] = value
        return key
    node: Any = config.setdefault(key, [] if isinstance(rest[0], int) else {})
    for part, following in zip(rest, [*rest[1:], None], strict=True):
        if isinstance(part, int) != isinstance(node, list):
            raise HarnessError(f"config path {path!r}: {part!r} does not fit {type(node).__name__}")
        if following is None:
            if isinstance(part, int):
                node.extend([None] * (part + 1 - len(node)))
            node[part] = value
        else:
            if isinstance(part, int):
                node.extend([None] * (part + 1 - len(node)))
                if node[part] is None:
                    node[part] = [] if isinstance(following, int) else {}
                node = node[part]
            else:
                node = node.setdefault(part, [] if isinstance(following, int) else {})
    return key


def load(
    config_file: Path | None,
    namespace: str,
    *,
    secrets: list[str] | None = None,
    settings: list[str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Config as the language host passes it: key -> string (JSON for non-strings), and the
    list of keys that hold secrets. `secrets`/`settings` are PATH=VALUE pairs, applied like
    `pulumi config set [--secret] --path PATH VALUE`."""
    if settings is None:
        settings = []
    if secrets is None:
        secrets = []
    config: dict[str, Any] = {}
    if config_file is not None:
        document = yaml.safe_load(config_file.read_text()) or {}
        config = dict(document.get("config") or {})
    for key, value in config.items():
        if _has_secure(value):
            raise HarnessError(
                f"{config_file}: {key} holds an encrypted value the harness cannot decrypt; "
                "pass it with --secret PATH=VALUE instead"
            )
    secret_keys: set[str] = set()
    for item in settings:
        path, _, text = item.partition("=")
        _set_path(config, namespace, path, yaml.safe_load(text))
    for item in secrets:
        path, _, text = item.partition("=")
        secret_keys.add(_set_path(config, namespace, path, text))
    serialized = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    return serialized, sorted(secret_keys)
