"""Runs the Pulumi program under mocks, and acts as the engine would on what it registers.

Modes:
- record: no state and no engine; every registration is recorded with plausible outputs. This
  is Pulumi's documented unit-testing mode (`set_mocks`), used by tests/unit.
- preview: the program runs as a dry run against the state; each registration gets the step
  the engine would plan (steps.py), and outputs that are unknown where the step would compute
  them. Nothing on the engine changes; providers are configured (and ping, as upstream does).
- up: the same plan, executed on the real engine; deletes of replaced and removed resources
  run at the end of a successful update, as the engine does them.
- destroy: from the state alone (`pulumi destroy`), or with the program run first so the
  providers take the program's configuration (`pulumi destroy --run-program`).
Before preview, up and destroy, a refresh runs when Pulumi.yaml says `options: refresh: always`
or --refresh is given; without it, the engine trusts the state (pulumi/pulumi: `pulumi up` does
not refresh by default).
"""

from __future__ import annotations

import json
import os
import runpy
import secrets
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import pulumi
import yaml
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from .docker_provider import docker_client
from .handlers import handler_for, provider_handler
from .resource import Context, PartialCreateError
from .state import Record, StateFile
from .steps import Goal, Step, apply_ignore_changes, deletion_order, dependent_replacements, plan
from .values import UNKNOWN_MARK, HarnessError, digest, is_unknown, mark_secrets, unwrap

# Resource options the harness implements: protect, retainOnDelete, deleteBeforeReplace,
# replaceOnChanges, ignoreChanges (top-level inputs), dependencies, parent and provider. Any
# other option below fails the run, because its effect would otherwise be silently lost. Values
# the SDKs set on their own are listed where the harness honours them: pulumi-random and
# pulumi-tls mark their results secret (the program wraps them in Output.secret as well).
_CHECKED_OPTIONS = {
    # RegisterResourceRequest field -> the Python option (pulumi/runtime/resource.py).
    "aliases": "aliases",
    "aliasURNs": "aliases",
    "importId": "import_",
    "additionalSecretOutputs": "additional_secret_outputs",
    "deletedWith": "deleted_with",
    "replace_with": "replace_with",
    "replacement_trigger": "replacement_trigger",
    "hooks": "hooks",
    "customTimeouts": "custom_timeouts",
    "hideDiffs": "hide_diffs",
    "envVarMappings": "env_var_mappings",
    "providers": "providers",
}
_SDK_SET_OPTIONS: dict[tuple[str, str], set[str]] = {
    ("random:index/randomPassword:RandomPassword", "additionalSecretOutputs"): {"bcryptHash", "result"},
    ("tls:index/privateKey:PrivateKey", "additionalSecretOutputs"): {
        "privateKeyOpenssh",
        "privateKeyPem",
        "privateKeyPemPkcs8",
    },
    ("tls:index/selfSignedCert:SelfSignedCert", "additionalSecretOutputs"): {
        "privateKeyPem",
        "privateKeyPemWo",
    },
    ("tls:index/certRequest:CertRequest", "additionalSecretOutputs"): {"privateKeyPem", "privateKeyPemWo"},
    ("tls:index/locallySignedCert:LocallySignedCert", "additionalSecretOutputs"): {
        "caPrivateKeyPem",
        "caPrivateKeyPemWo",
    },
}
# Aliases an SDK sets on its own: pulumi_docker/image.py aliases the type's old token.
_SDK_ALIASED = {"docker:index/image:Image": "docker:image:Image"}
MODES = ("record", "preview", "up", "destroy")


def _plausible_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Record mode: outputs a unit test can assert on, for a resource that is never created."""
    outputs = dict(inputs)
    if type_ == "random:index/randomPassword:RandomPassword":
        outputs["result"] = f"preview-random-{name}"
    if type_ == "command:local:Command":
        outputs.update(stdout="", stderr="")
    placeholders = {
        "tls:index/privateKey:PrivateKey": ("privateKeyPem", "publicKeyPem"),
        "tls:index/selfSignedCert:SelfSignedCert": ("certPem",),
        "tls:index/certRequest:CertRequest": ("certRequestPem",),
        "tls:index/locallySignedCert:LocallySignedCert": ("certPem",),
    }
    for key in placeholders.get(type_, ()):
        outputs[key] = f"preview-{key}-{name}"
    return outputs


def project_options(project_dir: Path) -> dict[str, Any]:
    document = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    return dict(document.get("options") or {})


class Run:
    """One operation on one stack: records every registration and acts on it as the mode says."""

    def __init__(
        self,
        project_dir: Path,
        stack: str,
        *,
        mode: str,
        state: StateFile | None,
        log: Callable[[str], None],
    ) -> None:
        if mode not in MODES:
            raise HarnessError(f"unknown mode {mode}")
        if mode != "record" and state is None:
            raise HarnessError(f"{mode} needs a state")
        self.project_dir = project_dir
        self.stack = stack
        self.mode = mode
        self.state = state
        self.log = log
        project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
        self.project: str = project["name"]
        disabled = ((project.get("config") or {}).get("pulumi:disable-default-providers") or {}).get(
            "value"
        ) or []
        self.default_providers_disabled: set[str] = set(disabled)
        self.registrations: list[dict[str, Any]] = []
        self.registered_urns: set[str] = set()
        self.steps: list[Step] = []
        self.deletes: list[dict[str, str]] = []
        self.errors: list[BaseException] = []
        self.outputs: dict[str, Any] = {}
        # Provider configurations this run resolved (preview, destroy --run-program): by URN.
        self._provider_configs: dict[str, dict[str, Any]] = {}
        self._configured: set[str] = set()
        self._clients: dict[str, docker.DockerClient] = {}
        self._dependent_replaced: set[str] = set()
        self._lock = threading.RLock()

    # --- providers and engine access ------------------------------------------------------
    def provider_config(self, ref: str) -> dict[str, Any]:
        urn = ref.rsplit("::", 1)[0]
        if urn in self._provider_configs:
            return self._provider_configs[urn]
        if self.state is not None and ref in self.state.providers:
            return self.state.providers[ref]
        raise HarnessError(f"no configuration for provider {ref}")

    def _configure(self, ref: str) -> None:
        """The engine configures a provider before its first operation; pulumi-docker pings."""
        with self._lock:
            if ref in self._configured:
                return
            self._configured.add(ref)
        if ref.split("::")[2].split("$")[-1] == "pulumi:providers:docker":
            provider_handler().configure(self.provider_config(ref), self.project_dir)

    def client(self, ref: str) -> docker.DockerClient:
        self._configure(ref)
        settings = self.provider_config(ref)
        key = json.dumps(settings, sort_keys=True)
        with self._lock:
            if key not in self._clients:
                workdir = Path(tempfile.mkdtemp(prefix="harness-provider-"))
                self._clients[key] = docker_client(settings, workdir, self.project_dir)
            return self._clients[key]

    def context(self) -> Context:
        return Context(
            project_dir=self.project_dir,
            client=self.client,
            provider_config=self.provider_config,
            log=self.log,
        )

    # --- registration ----------------------------------------------------------------------
    def register(self, request: Any, args: MockResourceArgs, urn: str) -> tuple[str, dict[str, Any]]:
        options = {
            "protect": bool(request.protect),
            "retainOnDelete": bool(request.retainOnDelete),
            "deleteBeforeReplace": bool(request.deleteBeforeReplace),
            "replaceOnChanges": sorted(request.replaceOnChanges),
            "ignoreChanges": sorted(request.ignoreChanges),
        }
        property_dependencies = {
            key: sorted(deps.urns) for key, deps in request.propertyDependencies.items() if deps.urns
        }
        dependencies = sorted(
            set(request.dependencies) | {u for d in property_dependencies.values() for u in d}
        )
        goal = Goal(
            urn=urn,
            type=args.typ,
            name=args.name,
            custom=bool(args.custom),
            inputs=args.inputs,
            dependencies=dependencies,
            property_dependencies=property_dependencies,
            provider=args.provider or "",
            options=options,
        )
        entry = {
            "urn": urn,
            "type": args.typ,
            "name": args.name,
            "custom": goal.custom,
            "parent": request.parent,
            "provider": goal.provider,
            "dependencies": dependencies,
            "propertyDependencies": property_dependencies,
            # Flags always; lists when set.
            "options": {k: v for k, v in options.items() if isinstance(v, bool) or v},
            "inputs": mark_secrets(args.inputs),
        }
        with self._lock:
            self.registrations.append(entry)
            self.registered_urns.add(urn)
        self._check_options(request, args)
        if not goal.custom:
            self._component(goal)
            return "", {}
        package = args.typ.split(":")[0]
        if (
            package in self.default_providers_disabled
            and not args.provider
            and not args.typ.startswith("pulumi:providers:")
        ):
            raise HarnessError(
                f"{args.typ} {args.name!r} uses the default {package} provider, which Pulumi.yaml disables"
            )
        if self.mode == "record":
            # An id that changes with the inputs, as a replacement's would.
            return f"{args.name}-{digest(args.inputs)[:8]}", _plausible_outputs(
                args.typ, args.name, unwrap(args.inputs)
            )
        if args.typ.startswith("pulumi:providers:"):
            return self._register_provider(goal)
        return self._step(goal)

    def _component(self, goal: Goal) -> None:
        """A component resource: created once, the same afterwards (seen with the real CLI: a
        new component is a create in `pulumi preview`, as any resource)."""
        if self.mode not in ("preview", "up") or self.state is None:
            return
        with self.state.lock:
            known = goal.urn in self.state.components
            if not known and self.mode == "up":
                self.state.components.append(goal.urn)
                self.state.save()
        self._record_step(Step(goal.urn, goal.type, goal.name, "same" if known else "create"))

    def _check_options(self, request: Any, args: MockResourceArgs) -> None:
        for field, option in _CHECKED_OPTIONS.items():
            value: Any = getattr(request, field, None)
            if field == "aliases" and args.typ in _SDK_ALIASED:
                # The SDK's alias for the type's old token; it would only matter if the URN moved.
                value = [alias for alias in value if alias.spec.type != _SDK_ALIASED[args.typ]]
            if value is not None and hasattr(value, "ListFields"):  # a protobuf message
                value = value.ListFields()
            elif value and not isinstance(value, str):
                items = list(value)
                if all(isinstance(item, str) for item in items):
                    value = set(items) - _SDK_SET_OPTIONS.get((args.typ, field), set())
            if value:
                raise HarnessError(
                    f"{args.typ} {args.name!r}: option {option} is not implemented by the harness"
                )
        for key in request.ignoreChanges:
            if "." in key or "[" in key:
                raise HarnessError(f"{args.typ} {args.name!r}: ignore_changes {key!r}: only top-level inputs")

    def _register_provider(self, goal: Goal) -> tuple[str, dict[str, Any]]:
        """Providers are configured at registration, in a preview too (pulumi-docker pings the
        engine when it is configured, for unix:// and tcp:// hosts)."""
        assert self.state is not None
        handler = provider_handler() if goal.type == "pulumi:providers:docker" else None
        if handler is None:
            raise HarnessError(f"provider {goal.type} is not implemented by the harness")
        handler.validate(goal.name, goal.inputs)
        config = handler.configuration(unwrap(goal.inputs))
        self._provider_configs[goal.urn] = config
        old = self.state.records.get(goal.urn)
        id_ = old.id if old is not None else f"provider-{secrets.token_hex(8)}"
        self._configure(f"{goal.urn}::{id_}")
        kind = "create" if old is None else ("same" if old.outputs == config else "update")
        self._record_step(Step(goal.urn, goal.type, goal.name, kind))
        if self.mode == "up":
            self._save(goal, id_, config, unwrap(goal.inputs))
        return id_, config

    def _step(self, goal: Goal) -> tuple[str, dict[str, Any]]:
        assert self.state is not None
        handler = handler_for(goal.type)
        handler.validate(goal.name, goal.inputs)
        with self._lock:
            old = self.state.records.get(goal.urn)
        inputs = handler.check(
            self.project_dir, apply_ignore_changes(old, goal.inputs, goal.options["ignoreChanges"])
        )
        step = plan(handler, old, goal, inputs)
        if goal.urn in self._dependent_replaced:
            step = Step(goal.urn, goal.type, goal.name, "replace", ("(a replaced dependency)",))
        if step.kind in ("replace",) and old is not None and old.protect:
            raise HarnessError(f"{goal.urn} is protected and would have to be replaced")
        if step.kind == "replace" and step.delete_before_replace and old is not None:
            self._replace_dependents_first(old)
        self._record_step(step)
        if self.mode in ("preview", "destroy"):
            return self._planned_outputs(handler, step, old, inputs)
        return self._execute(handler, step, old, goal, inputs)

    def _replace_dependents_first(self, old: Record) -> None:
        assert self.state is not None
        with self._lock:
            records = list(self.state.records.values())
        dependents = dependent_replacements(old, records, handler_for)
        for record in dependents:
            self._dependent_replaced.add(record.urn)
            if self.mode == "up":
                self._delete(record, reason="replace: a dependency is replaced delete-before-replace")

    def _planned_outputs(
        self, handler: Any, step: Step, old: Record | None, inputs: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        plain = unwrap(inputs)
        if step.kind == "same" and old is not None:
            return old.id, old.outputs
        if step.kind == "update" and old is not None:
            return old.id, handler.preview_outputs({**old.outputs, **plain}, handler.computed_on_update)
        return UNKNOWN_MARK, handler.preview_outputs(plain, ("id", *handler.computed))

    def _execute(
        self, handler: Any, step: Step, old: Record | None, goal: Goal, inputs: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        assert self.state is not None
        ctx = self.context()
        plain = unwrap(inputs)
        if any(is_unknown(v) for v in plain.values()):
            raise HarnessError(f"{goal.urn}: unknown inputs in an update")
        if goal.provider:
            self._configure(goal.provider)
        if step.kind == "same" and old is not None:
            self.log(f"same       {goal.type} {goal.name}")
            if (old.options, old.dependencies) != (goal.options, goal.dependencies):
                # A same step still writes the new goal's options and dependencies (e.g.
                # retainOnDelete) into the state, without calling the provider.
                self._save(goal, old.id, old.outputs, unwrap(old.inputs), old.init_error)
            return old.id, old.outputs
        if step.kind == "update" and old is not None:
            self.log(f"updating   {goal.type} {goal.name} ({', '.join(step.changed)})")
            outputs = handler.update(ctx, old, plain)
            return self._save(goal, old.id, outputs, plain)
        if step.kind == "replace" and old is not None and step.delete_before_replace:
            self.log(f"replacing  {goal.type} {goal.name} (delete first; {', '.join(step.replace_keys)})")
            self._delete(old, reason="replace")
            return self._create(handler, goal, plain, ctx)
        if step.kind == "replace" and old is not None:
            self.log(f"replacing  {goal.type} {goal.name} (create first; {', '.join(step.replace_keys)})")
            result = self._create(handler, goal, plain, ctx)
            with self.state.lock:
                self.state.pending_delete.append(old)
                self.state.save()
            return result
        self.log(f"creating   {goal.type} {goal.name}")
        return self._create(handler, goal, plain, ctx)

    def _create(
        self, handler: Any, goal: Goal, plain: dict[str, Any], ctx: Context
    ) -> tuple[str, dict[str, Any]]:
        try:
            id_, outputs = handler.create(ctx, goal.name, plain, goal.provider)
        except PartialCreateError as partial:
            self._save(goal, partial.id, partial.outputs, plain, init_error=str(partial))
            raise
        return self._save(goal, id_, outputs, plain)

    def _save(
        self,
        goal: Goal,
        id_: str,
        outputs: dict[str, Any],
        plain: dict[str, Any],
        init_error: str | None = None,
    ) -> tuple[str, dict[str, Any]]:
        assert self.state is not None
        record = Record(
            urn=goal.urn,
            type=goal.type,
            name=goal.name,
            id=id_,
            inputs=plain,
            outputs=outputs,
            dependencies=goal.dependencies,
            property_dependencies=goal.property_dependencies,
            provider=goal.provider,
            options=goal.options,
            init_error=init_error,
        )
        self.state.put(record)
        return id_, outputs

    def _record_step(self, step: Step) -> None:
        with self._lock:
            self.steps.append(step)

    # --- deletes ---------------------------------------------------------------------------
    def _delete(self, record: Record, *, reason: str) -> None:
        assert self.state is not None
        if record.protect:
            raise HarnessError(f"{record.urn} is protected and cannot be deleted")
        if record.retain_on_delete:
            self.log(f"retaining  {record.type} {record.name} ({reason})")
        elif not record.type.startswith("pulumi:providers:"):
            self.log(f"deleting   {record.type} {record.name} ({reason})")
            try:
                if record.provider:
                    self._configure(record.provider)
                handler_for(record.type).delete(self.context(), record)
            except HarnessError:
                raise
            except Exception as exc:  # the step failed on the engine: the resource stays
                raise HarnessError(
                    f"deleting {record.type} {record.name!r}: {type(exc).__name__}: {exc}"
                ) from exc
        self.state.drop(record)

    def delete_all(self, records: list[Record], reason: str) -> None:
        assert self.state is not None
        for record in deletion_order(records):
            # The old object of a create-before-delete replacement: the replace's second half.
            replaced = any(record is pending for pending in self.state.pending_delete)
            op = "delete-replaced" if replaced else "delete"
            with self._lock:
                self.deletes.append({"urn": record.urn, "name": record.name, "type": record.type, "op": op})
            if self.mode in ("up", "destroy"):
                self._delete(record, reason="replaced" if replaced else reason)

    def finish_update(self) -> None:
        """After a successful program run: delete the replaced objects still pending and every
        resource the program no longer registers, dependents first (the engine's deletes)."""
        assert self.state is not None
        stale = [r for r in self.state.records.values() if r.urn not in self.registered_urns]
        self.delete_all([*self.state.pending_delete, *stale], reason="no longer in the program")
        self._delete_components([u for u in self.state.components if u not in self.registered_urns])

    def destroy(self) -> None:
        assert self.state is not None
        self.delete_all(self.state.everything(), reason="destroy")
        self._delete_components(list(self.state.components))

    def _delete_components(self, urns: list[str]) -> None:
        assert self.state is not None
        for urn in reversed(urns):  # children were registered after their parents
            with self._lock:
                self.deletes.append(
                    {
                        "urn": urn,
                        "name": urn.rsplit("::", 1)[-1],
                        "type": urn.split("::")[-2].rsplit("$", 1)[-1],
                        "op": "delete",
                    }
                )
        if self.mode in ("up", "destroy") and urns:
            with self.state.lock:
                self.state.components = [u for u in self.state.components if u not in urns]
                self.state.save()

    # --- refresh -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """`pulumi refresh`: each resource's provider reads it back; a missing one leaves the
        state (and is created again by the next `up`)."""
        assert self.state is not None
        ctx = self.context()
        for record in list(self.state.records.values()):
            if record.type.startswith("pulumi:providers:"):
                continue
            try:
                if record.provider:
                    self._configure(record.provider)
                outputs = handler_for(record.type).read(ctx, record)
            except HarnessError:
                raise
            except Exception as exc:
                raise HarnessError(
                    f"refreshing {record.type} {record.name!r}: {type(exc).__name__}: {exc}"
                ) from exc
            if outputs is None:
                self.log(f"refresh: {record.type} {record.name} is gone")
                if self.mode == "preview":
                    with self.state.lock:
                        del self.state.records[record.urn]
                else:
                    self.state.drop(record)
            else:
                record.outputs = outputs
        if self.mode != "preview":
            self.state.save()

    # --- the program ---------------------------------------------------------------------
    def run_program(self, config: dict[str, str], secret_keys: list[str]) -> None:
        run = self

        class Monitor(MockMonitor):
            def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
                local.request = request
                return super().RegisterResource(request)  # type: ignore[no-untyped-call]

        class HarnessMocks(Mocks):
            def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
                request = local.request
                urn = monitor.make_urn(request.parent, request.type, request.name)
                try:
                    return run.register(request, args, urn)
                except HarnessError as exc:
                    run.errors.append(exc)
                    raise
                except Exception as exc:
                    # A step failed on the engine (or in a provider's model): the operation's
                    # error, as `pulumi up` reports a failed step, not the program's.
                    error = HarnessError(f"{args.typ} {args.name!r}: {type(exc).__name__}: {exc}")
                    run.errors.append(error)
                    raise error from exc

            def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
                error = HarnessError(f"invoke {args.token} is not implemented by the harness")
                run.errors.append(error)
                raise error

        local = threading.local()
        mocks = HarnessMocks()
        monitor = Monitor(mocks)
        os.chdir(self.project_dir)
        sys.path.insert(0, str(self.project_dir))
        pulumi.runtime.set_all_config(config, secret_keys)
        dry_run = self.mode != "up"
        pulumi.runtime.set_mocks(
            mocks, project=self.project, stack=self.stack, preview=dry_run, monitor=monitor
        )

        async def program() -> None:
            runpy.run_path(str(self.project_dir / "__main__.py"), run_name="__main__")

        try:
            _sync_await(run_pulumi_func(program))
            if not self.errors:
                self.outputs = _sync_await(_stack_outputs())
        except BaseException as exc:  # the program itself failed (e.g. invalid config)
            if not self.errors:
                self.errors.append(exc)
        if self.errors:
            raise self.errors[0]


def program_error_text(exc: BaseException) -> str:
    """What the Python language host prints for an exception the program raised: the message
    alone for a `pulumi.RunError`, the whole traceback for anything else
    (pulumi/pulumi sdk/python/cmd/pulumi-language-python-exec: `except pulumi.RunError as e:
    pulumi.log.error(str(e))`, `except Exception: pulumi.log.error(traceback.format_exc())`)."""
    if isinstance(exc, pulumi.RunError):
        return str(exc)
    return "".join(traceback.format_exception(exc))


async def _stack_outputs() -> dict[str, Any]:
    root = pulumi.runtime.settings.get_root_resource()
    outputs: dict[str, Any] = {}
    for key, value in getattr(root, "outputs", {}).items():
        output = pulumi.Output.from_input(value)
        known = await output.is_known()
        resolved = await output.future() if known else UNKNOWN_MARK
        secret = await output.is_secret()
        outputs[key] = {"value": resolved if known else "(known after up)", "secret": bool(secret)}
    return outputs
