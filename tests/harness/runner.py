"""Runs the Pulumi program under mocks and executes (or only records) what it registers."""

from __future__ import annotations

import json
import os
import runpy
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import docker
import pulumi
import yaml
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from .engine import Context, Record, docker_client
from .handlers import handler_for
from .values import HarnessError, digest, mark_secrets, unwrap

# Resource options that change what an engine does. The harness implements protect,
# retainOnDelete, deleteBeforeReplace (it always deletes before replacing), dependencies, parent
# and provider; any other option below fails the run, because its effect would otherwise be
# silently lost. Values the SDKs set on their own are listed where the harness honours them:
# pulumi-command replaces a Command when its triggers change (the harness compares triggers),
# pulumi-random marks its results secret (the program wraps them in Output.secret as well).
_CHECKED_OPTIONS = {
    "ignoreChanges": "ignore_changes",
    "replaceOnChanges": "replace_on_changes",
    "aliasSpecs": "aliases",
    "importId": "import_",
    "additionalSecretOutputs": "additional_secret_outputs",
    "deletedWith": "deleted_with",
    "replaceWith": "replace_with",
}
_SDK_SET_OPTIONS: dict[tuple[str, str], set[str]] = {
    ("command:local:Command", "replaceOnChanges"): {"triggers[*]"},
    ("random:index/randomPassword:RandomPassword", "additionalSecretOutputs"): {"bcryptHash", "result"},
    # pulumi-tls marks its private keys secret; the program wraps what it passes on as well.
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


class StateFile:
    """What `up` created, so a later `up` can reuse it and `destroy` can delete it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.providers: dict[str, dict[str, Any]] = {}
        self.records: dict[str, Record] = {}
        if path.exists():
            data = json.loads(path.read_text())
            self.providers = data["providers"]
            self.records = {r["urn"]: Record(**r) for r in data["resources"]}

    def save(self) -> None:
        with self.lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            data = {"providers": self.providers, "resources": [asdict(r) for r in self.records.values()]}
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.chmod(tmp, 0o600)  # it holds the stack's secrets, like an unencrypted Pulumi state
            tmp.replace(self.path)


def deletion_order(records: list[Record]) -> list[Record]:
    """Dependents before what they depend on; otherwise newest first."""
    urns = {r.urn for r in records}
    dependents: dict[str, set[str]] = {r.urn: set() for r in records}
    for record in records:
        for dep in record.dependencies:
            if dep in urns and dep != record.urn:
                dependents[dep].add(record.urn)
    order: list[Record] = []
    done: set[str] = set()
    remaining = list(reversed(records))
    while remaining:
        ready = [r for r in remaining if dependents[r.urn] <= done]
        if not ready:
            raise HarnessError("dependency cycle among: " + ", ".join(r.urn for r in remaining))
        for record in ready:
            order.append(record)
            done.add(record.urn)
            remaining.remove(record)
    return order


def _preview_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Plausible outputs for a resource that is only recorded, not executed."""
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


class Run:
    """One run of the program: records every registration and, with an engine, executes it."""

    def __init__(
        self,
        project_dir: Path,
        stack: str,
        *,
        state: StateFile | None,
        log: Callable[[str], None],
    ) -> None:
        self.project_dir = project_dir
        self.stack = stack
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
        self.errors: list[BaseException] = []
        self.outputs: dict[str, Any] = {}
        self._clients: dict[str, docker.DockerClient] = {}
        self._lock = threading.Lock()

    # --- engine access -------------------------------------------------------------------
    def client(self, provider_or_host: str) -> docker.DockerClient:
        settings: dict[str, Any] = {"host": provider_or_host}
        if self.state is not None and provider_or_host in self.state.providers:
            settings = self.state.providers[provider_or_host]
        key = json.dumps(settings, sort_keys=True)
        with self._lock:
            if key not in self._clients:
                workdir = Path(tempfile.mkdtemp(prefix="harness-provider-"))
                self._clients[key] = docker_client(settings, workdir)
            return self._clients[key]

    def context(self) -> Context:
        return Context(project_dir=self.project_dir, client=self.client, log=self.log)

    # --- registration ----------------------------------------------------------------------
    def register(self, request: Any, args: MockResourceArgs, urn: str) -> tuple[str, dict[str, Any]]:
        options = {
            "protect": bool(request.protect),
            "retainOnDelete": bool(request.retainOnDelete),
            "deleteBeforeReplace": bool(request.deleteBeforeReplace),
        }
        dependencies = sorted(
            set(request.dependencies)
            | {u for deps in request.propertyDependencies.values() for u in deps.urns}
        )
        provider_urn = args.provider.rsplit("::", 1)[0] if args.provider else ""
        entry = {
            "urn": urn,
            "type": args.typ,
            "name": args.name,
            "custom": bool(args.custom),
            "parent": request.parent,
            "provider": args.provider or "",
            "dependencies": dependencies,
            "options": options,
            "inputs": mark_secrets(args.inputs),
        }
        with self._lock:
            self.registrations.append(entry)
            self.registered_urns.add(urn)
        self._check_options(request, args)
        if not args.custom:
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
        if self.state is None:
            return f"{args.name}-{digest(args.inputs)[:8]}", _preview_outputs(
                args.typ, args.name, unwrap(args.inputs)
            )
        deps = dependencies + ([provider_urn] if provider_urn else [])
        return self._execute(args, urn, options, deps)

    def _check_options(self, request: Any, args: MockResourceArgs) -> None:
        for field, option in _CHECKED_OPTIONS.items():
            value = getattr(request, field, None)
            if value and not isinstance(value, str):
                value = set(value) - _SDK_SET_OPTIONS.get((args.typ, field), set())
            if value:
                raise HarnessError(
                    f"{args.typ} {args.name!r}: option {option} is not implemented by the harness"
                )

    def _execute(
        self, args: MockResourceArgs, urn: str, options: dict[str, bool], deps: list[str]
    ) -> tuple[str, dict[str, Any]]:
        assert self.state is not None
        handler = handler_for(args.typ)
        handler.validate(args.name, args.inputs)
        inputs = unwrap(args.inputs)
        ctx = self.context()
        provider_ref = args.provider or ""
        inputs_digest = digest(args.inputs)
        triggers_digest = digest(inputs.get("triggers"))
        old = self.state.records.get(urn)
        if old is not None and old.type == args.typ:
            if old.inputs_digest == inputs_digest and handler.exists(ctx, old):
                self.log(f"unchanged  {args.typ} {args.name}")
                return old.id, old.outputs
            updated = None
            if old.triggers_digest == triggers_digest and handler.exists(ctx, old):
                updated = handler.update(ctx, old, inputs)
            if updated is not None:
                self.log(f"updated    {args.typ} {args.name}")
                id_, outputs = updated
            else:
                if old.protect:
                    raise HarnessError(f"{urn} is protected and would have to be replaced")
                self.log(f"replacing  {args.typ} {args.name}")
                handler.delete(ctx, old)
                id_, outputs = handler.create(ctx, args.name, inputs, provider_ref)
        else:
            self.log(f"creating   {args.typ} {args.name}")
            id_, outputs = handler.create(ctx, args.name, inputs, provider_ref)
        record = Record(
            urn=urn,
            type=args.typ,
            name=args.name,
            id=id_,
            inputs_digest=inputs_digest,
            triggers_digest=triggers_digest,
            inputs=inputs,
            outputs=outputs,
            dependencies=deps,
            provider=provider_ref,
            retain_on_delete=options["retainOnDelete"],
            protect=options["protect"],
        )
        with self.state.lock:
            self.state.records[urn] = record
            if args.typ.startswith("pulumi:providers:"):
                self.state.providers[f"{urn}::{id_}"] = outputs
        self.state.save()
        return id_, outputs

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
                except BaseException as exc:
                    run.errors.append(exc)
                    raise

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
        pulumi.runtime.set_mocks(
            mocks, project=self.project, stack=self.stack, preview=False, monitor=monitor
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

    def remove_stale(self) -> None:
        """After an `up`: delete what the state has and this run no longer registered."""
        assert self.state is not None
        stale = [r for r in self.state.records.values() if r.urn not in self.registered_urns]
        self.destroy(stale)

    def destroy(self, records: list[Record]) -> None:
        assert self.state is not None
        protected = [r.urn for r in records if r.protect]
        if protected:
            raise HarnessError("protected resources cannot be deleted: " + ", ".join(protected))
        ctx = self.context()
        for record in deletion_order(records):
            if record.retain_on_delete:
                self.log(f"retaining  {record.type} {record.name}")
            else:
                self.log(f"deleting   {record.type} {record.name}")
                handler_for(record.type).delete(ctx, record)
            with self.state.lock:
                del self.state.records[record.urn]
            self.state.save()


async def _stack_outputs() -> dict[str, Any]:
    root = pulumi.runtime.settings.get_root_resource()
    outputs: dict[str, Any] = {}
    for key, value in getattr(root, "outputs", {}).items():
        output = pulumi.Output.from_input(value)
        resolved = await output.future()
        secret = await output.is_secret()
        outputs[key] = {"value": resolved, "secret": bool(secret)}
    return outputs
