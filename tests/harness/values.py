"""Helpers for values as the mock monitor hands them over: secrets arrive wrapped."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN, _special_secret_sig, _special_sig_key

SECRET_MARKER = "__secret__"
# How a value that is not known yet (a preview's computed output) reads in plans and outputs.
# The mock monitor turns the SDK's UNKNOWN sentinel into `Unknown()` during a preview
# (pulumi sdk/python/lib/pulumi/runtime/rpc.py, `deserialize_property`).
UNKNOWN_MARK = UNKNOWN


class HarnessError(RuntimeError):
    """The harness cannot execute what the program registered; the run must fail."""


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_special_sig_key) == _special_secret_sig


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or value == UNKNOWN_MARK


def contains_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def unwrap(value: Any) -> Any:
    """The plain value, with every secret wrapper removed (what the provider would receive)."""
    if isinstance(value, Unknown):
        return UNKNOWN_MARK
    if is_secret(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def mark_secrets(value: Any) -> Any:
    """A JSON-friendly copy in which secret values read {"__secret__": value}."""
    if isinstance(value, Unknown):
        return UNKNOWN_MARK
    if is_secret(value):
        return {SECRET_MARKER: mark_secrets(value["value"])}
    if isinstance(value, dict):
        return {k: mark_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mark_secrets(v) for v in value]
    return value


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(mark_secrets(value), sort_keys=True).encode()).hexdigest()


def check_schema(schema: Any, value: Any, path: str) -> None:
    """Fail on any input key the harness does not implement, at any depth.

    A schema is a type (the value must be an instance), a dict of key -> schema (an object:
    every key must be known), {"*": schema} (a map with any keys), or a one-element list
    [schema] (a list of such values).
    """
    value = unwrap(value)
    if value is None or is_unknown(value):
        return
    if isinstance(schema, dict) and list(schema) == ["*"]:
        if not isinstance(value, dict):
            raise HarnessError(f"input {path}: expected a map, got {value!r}")
        for key, item in value.items():
            check_schema(schema["*"], item, f"{path}.{key}")
    elif isinstance(schema, dict):
        if not isinstance(value, dict):
            raise HarnessError(f"input {path}: expected an object, got {value!r}")
        for key, item in value.items():
            if key not in schema:
                raise HarnessError(
                    f"input {path}.{key} is not implemented by the harness "
                    f"(implemented: {', '.join(sorted(schema))})"
                )
            check_schema(schema[key], item, f"{path}.{key}")
    elif isinstance(schema, list):
        if not isinstance(value, list):
            raise HarnessError(f"input {path}: expected a list, got {value!r}")
        for index, item in enumerate(value):
            check_schema(schema[0], item, f"{path}[{index}]")
    elif schema is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise HarnessError(f"input {path}: expected a number, got {value!r}")
    elif schema is int:
        if not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())) or isinstance(
            value, bool
        ):
            raise HarnessError(f"input {path}: expected an integer, got {value!r}")
    elif schema is not object and not isinstance(value, schema):
        raise HarnessError(f"input {path}: expected {schema.__name__}, got {value!r}")
