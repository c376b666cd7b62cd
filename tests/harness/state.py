"""The harness's stack state: what the engine's checkpoint holds, and nothing else.

`pulumi destroy` (without --run-program) and refresh work from this alone, so everything a
delete needs lives here: the inputs the resource was created with, its outputs, its provider's
configuration, its dependencies and its options.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Record:
    """One resource in the state, as the engine's checkpoint keeps it."""

    urn: str
    type: str
    name: str
    id: str
    inputs: dict[str, Any]  # unwrapped; the state file is test data and holds secrets
    outputs: dict[str, Any]
    dependencies: list[str]
    # input key -> the resources its value came from (the engine's propertyDependencies);
    # what `calculateDependentReplacements` substitutes unknowns for.
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: str = ""  # "<provider urn>::<provider id>", as the engine references providers
    options: dict[str, Any] = field(default_factory=dict)
    # Set when the provider created the object but then failed (pulumi/pulumi: a create that
    # returns an ID with an error is kept in the checkpoint with `initErrors`).
    init_error: str | None = None

    @property
    def retain_on_delete(self) -> bool:
        return bool(self.options.get("retainOnDelete"))

    @property
    def protect(self) -> bool:
        return bool(self.options.get("protect"))


class StateFile:
    """The checkpoint: live resources, replaced ones still to delete, and provider configs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.providers: dict[str, dict[str, Any]] = {}
        self.records: dict[str, Record] = {}
        # Resources replaced create-before-delete whose old object is still to be deleted: the
        # engine deletes them at the end of a successful update, and on the next one otherwise.
        self.pending_delete: list[Record] = []
        # The program's component resources: the engine keeps them in the state too, so a new
        # one is a create in the plan and one no longer registered a delete (no provider acts).
        self.components: list[str] = []
        if path.exists():
            data = json.loads(path.read_text())
            self.providers = data["providers"]
            self.records = {r["urn"]: Record(**r) for r in data["resources"]}
            self.pending_delete = [Record(**r) for r in data.get("pendingDelete", [])]
            self.components = list(data.get("components", []))

    def save(self) -> None:
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            data = {
                "providers": self.providers,
                "resources": [asdict(r) for r in self.records.values()],
                "pendingDelete": [asdict(r) for r in self.pending_delete],
                "components": self.components,
            }
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.chmod(tmp, 0o600)  # it holds the stack's secrets, like an unencrypted Pulumi state
            tmp.replace(self.path)

    def put(self, record: Record) -> None:
        with self.lock:
            self.records[record.urn] = record
            if record.type.startswith("pulumi:providers:"):
                self.providers[f"{record.urn}::{record.id}"] = record.outputs
            self.save()

    def drop(self, record: Record) -> None:
        with self.lock:
            if self.records.get(record.urn) is record:
                del self.records[record.urn]
            if record in self.pending_delete:
                self.pending_delete.remove(record)
            self.save()

    def everything(self) -> list[Record]:
        with self.lock:
            return [*self.records.values(), *self.pending_delete]
