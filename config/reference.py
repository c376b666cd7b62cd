"""The configuration reference, generated from the models: every key preview accepts, its
default as the model has it, and its meaning from the field's docstring (ConfigModel reads
them: `use_attribute_docstrings`). docs/reference/configuration.md shows it (scripts/
docs_hooks.py), so the page cannot drift from the models; a key without a docstring fails the
docs test (`undocumented`).
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from config.auth import AuthConfig
from config.stack import StackConfig, _leaf_types

# Where docs/reference/configuration.md shows the tables (scripts/docs_hooks.py).
MARKER = "<!-- generated: config reference -->"


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [t for t in _leaf_types(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]


def _is_list(annotation: Any) -> bool:
    """A list or tuple of models (`shared`, `profiles`, `notebook.images`), through Optional."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        return True
    return origin is not None and any(_is_list(arg) for arg in typing.get_args(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
    if value is None or value is PydanticUndefined:
        return "none"
    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, BaseModel):
        return ""
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return f"`{json.dumps(value)}`"


def _rows(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str, str]]:
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        nested = _models(field.annotation)
        if nested and model is StackConfig and name == "auth":
            continue  # one table per login mode, below
        if nested:
            child = path + ("[]." if _is_list(field.annotation) else ".")
            for sub in nested:
                yield from _rows(sub, child)
            continue
        secret = "*" if SecretStr in _leaf_types(field.annotation) else ""
        meaning = (field.description or "").replace("\n", " ")
        yield f"`{path}`{secret}", _default(field), meaning


def _table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| key | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| {key} | {default} | {meaning} |" for key, default, meaning in rows]
    return "\n".join(lines)


def _auth_tables() -> Iterator[tuple[type[BaseModel], str, list[tuple[str, str, str]]]]:
    """Each login mode's model, its `auth.type`, and its rows (`auth.type` is the table's title)."""
    for mode in typing.get_args(typing.get_args(AuthConfig)[0]):
        kind = typing.get_args(mode.model_fields["type"].annotation)[0]
        yield mode, kind, [row for row in _rows(mode, "auth.") if row[0] != "`auth.type`"]


def undocumented() -> list[str]:
    """Keys without a docstring: what the generated tables could not explain."""
    rows = list(_rows(StackConfig, ""))
    for _, _, mode_rows in _auth_tables():
        rows += mode_rows
    return [key for key, _, meaning in rows if not meaning]


def reference_tables() -> str:
    """The markdown of the reference: the stack's keys, then one table per login mode."""
    parts = [_table(list(_rows(StackConfig, "")))]
    for mode, kind, rows in _auth_tables():
        summary = (mode.__doc__ or "").strip().split("\n\n", 1)[0].replace("\n", " ")
        heading = f"**`auth.type: {kind}`**" + (f": {summary}" if summary else "")
        parts.append(heading + "\n\n" + _table(rows))
    return "\n\n".join(parts)
