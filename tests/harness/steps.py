"""The engine's step generator, modelled: what a registration does against the state.

Upstream: pulumi/pulumi pkg/resource/deploy/step_generator.go (`GenerateSteps`,
`calculateDependentReplacements`) and pkg/resource/deploy/step.go. The rules modelled:
- no old state: create; same inputs: same (the engine never asks the engine: `up` trusts the
  state unless refreshed); otherwise the provider's Diff decides update or replace;
- `ignoreChanges` copies the old values of the listed inputs into the new ones before the diff;
- `replaceOnChanges` turns a change of the listed inputs into a replacement;
- a replacement is create-before-delete unless the resource or its provider asks for
  delete-before-replace; the old object of a create-before-delete replacement is deleted at the
  end of the update;
- before deleting a resource for a delete-before-replace replacement, the engine deletes every
  dependent whose diff, with the inputs that came from replaced resources made unknown, would
  itself be a replacement (they are created again when the program registers them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .resource import Diff, Handler
from .state import Record
from .values import UNKNOWN_MARK, HarnessError, unwrap


@dataclass(frozen=True)
class Goal:
    """A registration: what the program asks for."""

    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]  # as registered: secret wrappers and unknowns kept
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    provider: str
    options: dict[str, Any]


@dataclass(frozen=True)
class Step:
    urn: str
    type: str
    name: str
    kind: str  # create, same, update, replace
    changed: tuple[str, ...] = ()
    replace_keys: tuple[str, ...] = ()
    delete_before_replace: bool = False

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {"urn": self.urn, "name": self.name, "type": self.type, "op": self.kind}
        if self.kind in ("update", "replace"):
            described["changed"] = list(self.changed)
        if self.kind == "replace":
            described["replaceKeys"] = list(self.replace_keys)
            described["deleteBeforeReplace"] = self.delete_before_replace
        return described


def apply_ignore_changes(
    old: Record | None, inputs: dict[str, Any], ignored: Iterable[str]
) -> dict[str, Any]:
    """The engine keeps the old value of every ignored input (`processIgnoreChanges`)."""
    if old is None:
        return inputs
    result = dict(inputs)
    for key in ignored:
        if "." in key or "[" in key:
            raise HarnessError(f"ignoreChanges path {key!r}: only top-level inputs are modelled")
        if key in old.inputs:
            result[key] = old.inputs[key]
        else:
            result.pop(key, None)
    return result


def diff_goal(handler: Handler, old: Record, inputs: dict[str, Any], options: dict[str, Any]) -> Diff:
    return handler.diff(
        old,
        inputs,
        replace_on_changes=options.get("replaceOnChanges") or (),
        delete_before_replace=bool(options.get("deleteBeforeReplace")),
    )


def plan(handler: Handler, old: Record | None, goal: Goal, inputs: dict[str, Any]) -> Step:
    if old is None:
        return Step(goal.urn, goal.type, goal.name, "create")
    if old.init_error is not None:
        # A partially created resource: the engine updates it with its provider, whatever the
        # inputs (pulumi/pulumi step_generator.go: `hasInitErrors` forces an update).
        diff = diff_goal(handler, old, inputs, goal.options)
        kind = "replace" if diff.replace else "update"
        return Step(
            goal.urn, goal.type, goal.name, kind, diff.changed, diff.replace, diff.delete_before_replace
        )
    diff = diff_goal(handler, old, inputs, goal.options)
    return Step(
        goal.urn, goal.type, goal.name, diff.kind, diff.changed, diff.replace, diff.delete_before_replace
    )


def topological(records: list[Record]) -> list[Record]:
    """Dependencies before their dependents (stable otherwise)."""
    by_urn = {r.urn: r for r in records}
    order: list[Record] = []
    seen: set[str] = set()

    def visit(record: Record, path: tuple[str, ...]) -> None:
        if record.urn in seen:
            return
        if record.urn in path:
            raise HarnessError("dependency cycle among: " + ", ".join(path))
        for dep in record.dependencies:
            if dep in by_urn and dep != record.urn:
                visit(by_urn[dep], (*path, record.urn))
        seen.add(record.urn)
        order.append(record)

    for record in records:
        visit(record, ())
    return order


def deletion_order(records: list[Record]) -> list[Record]:
    """Dependents before what they depend on: the reverse of a topological order."""
    return list(reversed(topological(records)))


def dependent_replacements(
    root: Record, records: list[Record], handler_for: Callable[[str], Handler]
) -> list[Record]:
    """What `calculateDependentReplacements` finds: the transitive dependents of `root` whose
    diff, with every input that came from a replaced resource made unknown, is a replacement.
    Returned in the order the engine deletes them (dependents first)."""
    replaced = {root.urn}
    found: list[Record] = []
    for record in topological(records):
        if record.urn == root.urn or not (set(record.dependencies) & replaced):
            continue
        if record.type.startswith("pulumi:providers:"):
            raise HarnessError(f"{record.urn}: replacing a provider's dependency is not modelled")
        inputs = dict(record.inputs)
        for key, deps in record.property_dependencies.items():
            if set(deps) & replaced and key in inputs:
                inputs[key] = UNKNOWN_MARK
        diff = diff_goal(handler_for(record.type), record, inputs, record.options)
        if diff.replace:
            replaced.add(record.urn)
            found.append(record)
    return list(reversed(found))


def same_inputs(old: Record, inputs: dict[str, Any]) -> bool:
    return bool(unwrap(old.inputs) == unwrap(inputs))
