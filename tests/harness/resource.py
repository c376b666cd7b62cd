"""The model of one resource provider's resource type: its inputs, its diff, its CRUD.

Each handler says which inputs it implements (a schema, checked before anything is done), which
of them force a replacement (the provider's ForceNew set), whether the provider itself asks for
delete-before-replace, and how create, read (refresh), update and delete act on the real engine.
Where a provider's behaviour matters to the program, the handler cites its upstream source;
MODEL.md lists every such rule with the test that pins it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from .state import Record
from .values import HarnessError, check_schema, contains_unknown, unwrap

ALL = frozenset({"*"})


@dataclass
class Context:
    """What a handler needs besides the inputs: where the program runs and its engines."""

    project_dir: Path
    client: Callable[[str], docker.DockerClient]  # provider reference -> engine client
    provider_config: Callable[[str], dict[str, Any]]  # provider reference -> its configuration
    log: Callable[[str], None]


@dataclass(frozen=True)
class Diff:
    """What the provider's Diff reports for new inputs against the state's."""

    changed: tuple[str, ...]  # top-level inputs whose value differs or is not known yet
    replace: tuple[str, ...]  # those of them that force a replacement
    delete_before_replace: bool

    @property
    def kind(self) -> str:
        if self.replace:
            return "replace"
        return "update" if self.changed else "same"


class PartialCreateError(HarnessError):
    """The provider created the object, then failed (e.g. the container would not start).

    The engine keeps such a resource in the state with its init error, so `destroy` deletes it
    (pulumi-terraform-bridge returns the ID with the error; pulumi/pulumi keeps `initErrors`).
    """

    def __init__(self, message: str, id_: str, outputs: dict[str, Any]) -> None:
        super().__init__(message)
        self.id = id_
        self.outputs = outputs


def changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Top-level keys whose values differ, and keys whose new value is not known yet."""
    keys = sorted(set(old) | set(new))
    return [k for k in keys if contains_unknown(new.get(k)) or unwrap(old.get(k)) != unwrap(new.get(k))]


class Handler:
    type: str = ""
    schema: dict[str, Any] = {}
    # Inputs whose change replaces the resource: ALL, or the provider schema's ForceNew set.
    force_new: frozenset[str] = ALL
    # The provider asks for delete-before-replace when its own diff replaces this type (the
    # schema's flag: pulumi-docker's docker_container)...
    provider_delete_before_replace = False
    # ...or, for a type the provider autonames (pulumi-docker `SetAutonaming`: an optional
    # `name`), when the program gave the name (pulumi-terraform-bridge pkg/tfbridge/schema.go
    # `nameRequiresDeleteBeforeReplace`: a fixed name cannot exist twice).
    autonamed = False
    # Outputs the provider computes (unknown in a preview until the step runs).
    computed: tuple[str, ...] = ()
    # Outputs that an update computes anew (unknown in a preview of an update).
    computed_on_update: tuple[str, ...] = ()

    def validate(self, name: str, inputs: dict[str, Any]) -> None:
        try:
            check_schema(self.schema, inputs, name)
        except HarnessError as exc:
            raise HarnessError(f"{self.type} {name!r}: {exc}") from None

    def check(self, project_dir: Path, inputs: dict[str, Any]) -> dict[str, Any]:
        """The provider's Check: the inputs it stores, with the defaults it fills in."""
        return inputs

    def diff(
        self,
        old: Record,
        new: dict[str, Any],
        *,
        replace_on_changes: Iterable[str] = (),
        delete_before_replace: bool = False,
    ) -> Diff:
        changed = changed_keys(old.inputs, new)
        # `triggers[*]` and `build.args` name their top-level input.
        forced = {path.split(".")[0].split("[")[0] for path in replace_on_changes}
        by_provider = [k for k in changed if self.force_new == ALL or k in self.force_new]
        replace = [k for k in changed if k in by_provider or k in forced or "*" in forced]
        # The provider's Diff answers deleteBeforeReplace only with replaces of its own
        # (pulumi-terraform-bridge pkg/tfbridge/provider.go `Diff`: `len(replaces) > 0 && ...`):
        # one that `replaceOnChanges` alone makes is created first unless the program's
        # `deleteBeforeReplace` says otherwise (pulumi/pulumi step_generator.go). Seen with the
        # real CLI: a fixed-name container replaced that way collides with its own name.
        provider_first = bool(by_provider) and (
            self.provider_delete_before_replace or (self.autonamed and bool(unwrap(new.get("name"))))
        )
        return Diff(
            changed=tuple(changed),
            replace=tuple(replace),
            delete_before_replace=delete_before_replace or provider_first,
        )

    def preview_outputs(self, inputs: dict[str, Any], computed: Iterable[str]) -> dict[str, Any]:
        """Outputs of a step that has not run: the inputs, and unknowns for what it computes."""
        from .values import UNKNOWN_MARK

        return {**inputs, **dict.fromkeys(computed, UNKNOWN_MARK)}

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def read(self, ctx: Context, record: Record) -> dict[str, Any] | None:
        """Refresh: the outputs as the provider reads them back, or None when the object is gone.
        By default the provider returns the state as it is (nothing to read)."""
        return record.outputs

    def update(self, ctx: Context, record: Record, inputs: dict[str, Any]) -> dict[str, Any]:
        """Apply a change that does not replace. The default: the provider only records it."""
        return {**record.outputs, **inputs}

    def delete(self, ctx: Context, record: Record) -> None:
        pass
