"""Executes registered resources on a real Docker engine, one handler per resource type.

Each handler declares the inputs it implements (a schema, checked before anything is done),
creates the real object, tells whether it still exists, and deletes it. Behaviour follows the
real providers where it matters to the program: a Docker Image is not removed on delete, a
RemoteImage with keepLocally is not removed, a Command's delete script runs on delete, a
change of a Command's triggers replaces it while other changes run its update (or create).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import shlex
import shutil
import string
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.tls

from .values import HarnessError, check_schema, unwrap

LABELS = [{"label": str, "value": str}]


@dataclass
class Record:
    """One executed resource, as the state file keeps it."""

    urn: str
    type: str
    name: str
    id: str
    inputs_digest: str
    triggers_digest: str
    inputs: dict[str, Any]  # unwrapped; the state file is test data and holds secrets
    outputs: dict[str, Any]
    dependencies: list[str]
    provider: str
    retain_on_delete: bool
    protect: bool


@dataclass
class Context:
    """What a handler needs besides the inputs: where the program runs and its engine."""

    project_dir: Path
    client: Callable[[str], docker.DockerClient]  # provider reference -> engine client
    log: Callable[[str], None]


def _duration_ns(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not match:
        raise HarnessError(f"cannot parse duration {text!r}")
    scale = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}[match.group(2)]
    return int(float(match.group(1)) * scale)


def _labels(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {item["label"]: item["value"] for item in items or []}


class Handler:
    type: str = ""
    schema: dict[str, Any] = {}
    needs_provider = True

    def validate(self, name: str, inputs: dict[str, Any]) -> None:
        try:
            check_schema(self.schema, inputs, name)
        except HarnessError as exc:
            raise HarnessError(f"{self.type} {name!r}: {exc}") from None

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def exists(self, ctx: Context, record: Record) -> bool:
        return True

    def delete(self, ctx: Context, record: Record) -> None:
        pass

    def update(
        self, ctx: Context, record: Record, inputs: dict[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        """Apply changed inputs in place, or None when the change needs a replacement."""
        return None


class DockerProvider(Handler):
    """Like the real provider, configuring it does not connect: the first resource does."""

    type = "pulumi:providers:docker"
    schema = {"host": str, "sshOpts": [str], "caMaterial": str, "certMaterial": str, "keyMaterial": str}
    needs_provider = False

    def validate(self, name: str, inputs: dict[str, Any]) -> None:
        super().validate(name, self.decoded(inputs))

    @staticmethod
    def decoded(inputs: dict[str, Any]) -> dict[str, Any]:
        """Provider config reaches a provider as strings: the SDK JSON-encodes lists."""
        plain: dict[str, Any] = unwrap(inputs)
        if isinstance(plain.get("sshOpts"), str):
            plain["sshOpts"] = json.loads(plain["sshOpts"])
        return plain

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        return f"docker-provider-{name}", {"host": "unix:///var/run/docker.sock", **self.decoded(inputs)}


def docker_client(settings: dict[str, Any], workdir: Path) -> docker.DockerClient:
    """An engine client for provider settings: a unix socket, ssh:// through the ssh binary with
    the provider's sshOpts (as the real provider passes them), or tcp:// with client TLS."""
    host = settings["host"]
    if host.startswith("ssh://"):
        # docker-py runs `ssh` from PATH: put a wrapper that adds sshOpts first on PATH.
        real = shutil.which("ssh")
        if real is None:
            raise HarnessError("an ssh:// provider needs the ssh client")
        wrapper = workdir / "ssh-wrapper" / "ssh"
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        options = " ".join(shlex.quote(o) for o in settings.get("sshOpts") or [])
        wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(real)} {options} "$@"\n')
        wrapper.chmod(0o700)
        os.environ["PATH"] = f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}"
        return docker.DockerClient(base_url=host, use_ssh_client=True, timeout=600)
    if settings.get("caMaterial"):
        tls_dir = workdir / "tls"
        tls_dir.mkdir(parents=True, exist_ok=True)
        for name, key in (("ca.pem", "caMaterial"), ("cert.pem", "certMaterial"), ("key.pem", "keyMaterial")):
            (tls_dir / name).write_text(settings[key])
            (tls_dir / name).chmod(0o600)
        tls = docker.tls.TLSConfig(
            client_cert=(str(tls_dir / "cert.pem"), str(tls_dir / "key.pem")),
            ca_cert=str(tls_dir / "ca.pem"),
            verify=True,
        )
        # docker-py's APIClient is a requests Session: REQUESTS_CA_BUNDLE in the environment
        # would override the engine's CA set above. A fixed API version (Engine 20.10's; newer
        # engines accept it) avoids the version request made before trust_env can be turned off.
        client = docker.DockerClient(base_url=host, tls=tls, timeout=600, version="1.41")
        client.api.trust_env = False
        return client
    return docker.DockerClient(base_url=host, timeout=600)


class Network(Handler):
    type = "docker:index/network:Network"
    schema = {"name": str, "driver": str, "labels": LABELS, "internal": bool, "attachable": bool}

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        network = ctx.client(provider).networks.create(
            inputs["name"],
            driver=inputs.get("driver", "bridge"),
            labels=_labels(inputs.get("labels")),
            internal=inputs.get("internal", False),
            attachable=inputs.get("attachable", False),
            check_duplicate=True,
        )
        return network.id, {**inputs, "id": network.id}

    def exists(self, ctx: Context, record: Record) -> bool:
        try:
            ctx.client(record.provider).networks.get(record.id)
            return True
        except docker.errors.NotFound:
            return False

    def delete(self, ctx: Context, record: Record) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            ctx.client(record.provider).networks.get(record.id).remove()


class Volume(Handler):
    type = "docker:index/volume:Volume"
    schema = {"name": str, "driver": str, "labels": LABELS}

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        volume = ctx.client(provider).volumes.create(
            name=inputs["name"], driver=inputs.get("driver", "local"), labels=_labels(inputs.get("labels"))
        )
        return volume.name, {**inputs, "mountpoint": volume.attrs.get("Mountpoint", "")}

    def exists(self, ctx: Context, record: Record) -> bool:
        try:
            ctx.client(record.provider).volumes.get(record.id)
            return True
        except docker.errors.NotFound:
            return False

    def delete(self, ctx: Context, record: Record) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            ctx.client(record.provider).volumes.get(record.id).remove()


class Image(Handler):
    """docker.Image: a build on the provider's engine, then a push to `registry` unless
    skipPush. Delete keeps the image (and the pushed tag), as the provider does."""

    type = "docker:index/image:Image"
    schema = {
        "imageName": str,
        "skipPush": bool,
        "buildOnPreview": bool,
        "build": {"context": str, "dockerfile": str, "args": {"*": str}},
        "registry": {"server": str, "username": str, "password": str},
    }

    def validate(self, name: str, inputs: dict[str, Any]) -> None:
        super().validate(name, inputs)
        plain = unwrap(inputs)
        if not plain.get("skipPush") and not plain.get("registry"):
            raise HarnessError(
                f"{self.type} {name!r}: a push needs registry (server, credentials) or skipPush"
            )

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        build = inputs["build"]
        context = (ctx.project_dir / build["context"]).resolve()
        dockerfile = (ctx.project_dir / build.get("dockerfile", f"{build['context']}/Dockerfile")).resolve()
        client = ctx.client(provider)
        ctx.log(f"building {inputs['imageName']} from {context}")
        started = time.monotonic()
        try:
            image, _ = client.images.build(
                path=str(context),
                dockerfile=str(dockerfile.relative_to(context)),
                buildargs=build.get("args") or {},
                tag=inputs["imageName"],
                rm=True,
                forcerm=True,
            )
        except docker.errors.BuildError as exc:
            tail = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)
            raise HarnessError(f"building {inputs['imageName']} failed: {exc}\n{tail[-3000:]}") from None
        ctx.log(f"built {inputs['imageName']} in {time.monotonic() - started:.1f}s")
        digest = ""
        if not inputs.get("skipPush"):
            digest = self._push(ctx, client, inputs)
        return image.id, {**inputs, "repoDigest": digest, "baseImageName": inputs["imageName"]}

    def _push(self, ctx: Context, client: docker.DockerClient, inputs: dict[str, Any]) -> str:
        registry = inputs["registry"]
        repository, _, tag = inputs["imageName"].rpartition(":")
        if not repository.startswith(registry["server"] + "/"):
            raise HarnessError(f"{inputs['imageName']} is not in registry {registry['server']}")
        auth = (
            {"username": registry["username"], "password": registry["password"]}
            if registry.get("username")
            else None
        )
        digest = ""
        for line in client.api.push(repository, tag=tag, auth_config=auth, stream=True, decode=True):
            if "error" in line:
                raise HarnessError(f"pushing {inputs['imageName']} failed: {line['error']}")
            digest = line.get("aux", {}).get("Digest", digest)
        ctx.log(f"pushed {inputs['imageName']} ({digest})")
        return f"{repository}@{digest}"

    def exists(self, ctx: Context, record: Record) -> bool:
        try:
            ctx.client(record.provider).images.get(record.inputs["imageName"])
            return True
        except docker.errors.ImageNotFound:
            return False


class RemoteImage(Handler):
    type = "docker:index/remoteImage:RemoteImage"
    schema = {"name": str, "keepLocally": bool}

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        client = ctx.client(provider)
        try:
            image = client.images.get(inputs["name"])
        except docker.errors.ImageNotFound:
            ctx.log(f"pulling {inputs['name']}")
            try:
                image = client.images.pull(inputs["name"])
            except docker.errors.APIError as exc:
                raise HarnessError(f"pulling {inputs['name']} failed: {exc}") from None
        digests = image.attrs.get("RepoDigests") or [""]
        return image.id, {**inputs, "imageId": image.id, "repoDigest": digests[0]}

    def exists(self, ctx: Context, record: Record) -> bool:
        try:
            ctx.client(record.provider).images.get(record.inputs["name"])
            return True
        except docker.errors.ImageNotFound:
            return False

    def delete(self, ctx: Context, record: Record) -> None:
        if not record.inputs.get("keepLocally"):
            with contextlib.suppress(docker.errors.ImageNotFound):
                ctx.client(record.provider).images.remove(record.inputs["name"])


class Container(Handler):
    type = "docker:index/container:Container"
    schema = {
        "name": str,
        "image": str,
        "command": [str],
        "entrypoints": [str],
        "envs": [str],
        "restart": str,
        "labels": LABELS,
        "mustRun": bool,
        "networksAdvanced": [{"name": str, "aliases": [str]}],
        "ports": [{"internal": int, "external": int, "ip": str, "protocol": str}],
        "volumes": [{"volumeName": str, "hostPath": str, "containerPath": str, "readOnly": bool}],
        "uploads": [{"file": str, "content": str, "executable": bool}],
        "healthcheck": {"tests": [str], "interval": str, "timeout": str, "retries": int, "startPeriod": str},
    }

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        api = ctx.client(provider).api
        binds = []
        for volume in inputs.get("volumes") or []:
            source = volume.get("volumeName") or volume.get("hostPath")
            if not source:
                raise HarnessError(f"container {name!r}: a volume needs volumeName or hostPath")
            mode = "ro" if volume.get("readOnly") else "rw"
            binds.append(f"{source}:{volume['containerPath']}:{mode}")
        port_bindings = {}
        exposed = []
        for port in inputs.get("ports") or []:
            internal, protocol = int(port["internal"]), port.get("protocol", "tcp")
            exposed.append((internal, protocol))
            external = int(port["external"]) if port.get("external") else None
            port_bindings[f"{internal}/{protocol}"] = (port.get("ip", "0.0.0.0"), external)
        restart = inputs.get("restart", "no")
        host_config = api.create_host_config(
            binds=binds,
            port_bindings=port_bindings,
            restart_policy={"Name": restart} if restart != "no" else None,
        )
        networks = inputs.get("networksAdvanced") or []
        networking_config = None
        if networks:
            first = networks[0]
            networking_config = api.create_networking_config(
                {first["name"]: api.create_endpoint_config(aliases=first.get("aliases"))}
            )
        healthcheck = None
        if inputs.get("healthcheck"):
            hc = inputs["healthcheck"]
            healthcheck = {
                "test": hc["tests"],
                "interval": _duration_ns(hc.get("interval", "30s")),
                "timeout": _duration_ns(hc.get("timeout", "30s")),
                "retries": int(hc.get("retries", 3)),
                "start_period": _duration_ns(hc.get("startPeriod", "0s")),
            }
        created = api.create_container(
            inputs["image"],
            command=inputs.get("command"),
            entrypoint=inputs.get("entrypoints"),
            name=inputs["name"],
            environment=inputs.get("envs"),
            labels=_labels(inputs.get("labels")),
            ports=exposed,
            host_config=host_config,
            networking_config=networking_config,
            healthcheck=healthcheck,
        )
        container_id = created["Id"]
        for network in networks[1:]:
            api.connect_container_to_network(container_id, network["name"], aliases=network.get("aliases"))
        uploads = inputs.get("uploads") or []
        if uploads:
            api.put_archive(container_id, "/", _tar(uploads))
        api.start(container_id)
        if inputs.get("mustRun", True):
            time.sleep(0.5)
            state = api.inspect_container(container_id)["State"]
            if not state.get("Running"):
                logs = api.logs(container_id, tail=50).decode(errors="replace")
                raise HarnessError(
                    f"container {inputs['name']} is not running ({state.get('Status')}):\n{logs}"
                )
        return container_id, {**inputs, "id": container_id}

    def exists(self, ctx: Context, record: Record) -> bool:
        try:
            ctx.client(record.provider).containers.get(record.id)
            return True
        except docker.errors.NotFound:
            return False

    def delete(self, ctx: Context, record: Record) -> None:
        try:
            container = ctx.client(record.provider).containers.get(record.id)
        except docker.errors.NotFound:
            return
        container.stop(timeout=10)
        container.remove(force=True)


def _tar(uploads: list[dict[str, Any]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        made: set[str] = set()
        for upload in uploads:
            path = upload["file"].lstrip("/")
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                directory = "/".join(parts[:i])
                if directory not in made:
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    archive.addfile(info)
                    made.add(directory)
            data = upload["content"].encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o755 if upload.get("executable") else 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Command(Handler):
    """pulumi-command's local Command: the scripts run for real, on this machine."""

    type = "command:local:Command"
    schema = {
        "create": str,
        "update": str,
        "delete": str,
        "environment": {"*": str},
        "interpreter": [str],
        "dir": str,
        "triggers": [object],
    }
    needs_provider = False

    def _run(
        self, ctx: Context, inputs: dict[str, Any], script: str, extra_env: dict[str, str] | None = None
    ) -> dict[str, str]:
        argv = [*(inputs.get("interpreter") or ["/bin/sh", "-c"]), script]
        env = {**os.environ, **(inputs.get("environment") or {}), **(extra_env or {})}
        cwd = ctx.project_dir / inputs["dir"] if inputs.get("dir") else ctx.project_dir
        result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
        if result.returncode != 0:
            raise HarnessError(
                f"command failed with exit code {result.returncode}:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        return {"stdout": result.stdout.rstrip("\n"), "stderr": result.stderr.rstrip("\n")}

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        output = {"stdout": "", "stderr": ""}
        if inputs.get("create"):
            output = self._run(ctx, inputs, inputs["create"])
            ctx.log(f"{name}: {output['stdout'][-500:]}")
        return f"command-{name}-{secrets.token_hex(4)}", {**inputs, **output}

    def update(
        self, ctx: Context, record: Record, inputs: dict[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        script = inputs.get("update") or inputs.get("create")
        output = self._run(ctx, inputs, script) if script else {"stdout": "", "stderr": ""}
        return record.id, {**inputs, **output}

    def delete(self, ctx: Context, record: Record) -> None:
        if record.inputs.get("delete"):
            output = self._run(
                ctx,
                record.inputs,
                record.inputs["delete"],
                {
                    "PULUMI_COMMAND_STDOUT": record.outputs.get("stdout", ""),
                    "PULUMI_COMMAND_STDERR": record.outputs.get("stderr", ""),
                },
            )
            ctx.log(f"{record.name} (delete): {output['stdout'][-500:]}")


class RandomPassword(Handler):
    type = "random:index/randomPassword:RandomPassword"
    schema = {"length": int, "special": bool, "upper": bool, "lower": bool, "numeric": bool}
    needs_provider = False

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        alphabet = ""
        if inputs.get("lower", True):
            alphabet += string.ascii_lowercase
        if inputs.get("upper", True):
            alphabet += string.ascii_uppercase
        if inputs.get("numeric", True):
            alphabet += string.digits
        if inputs.get("special", True):
            alphabet += "!@#$%&*()-_=+[]{}<>:?"
        result = "".join(secrets.choice(alphabet) for _ in range(int(inputs["length"])))
        return "none", {**inputs, "result": result}
