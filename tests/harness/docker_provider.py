"""pulumi-docker, modelled on the real engine: the provider's configuration and its resources.

Upstream: pulumi/pulumi-docker (the Image resource is native Go, provider/image.go and
provider/hash.go; everything else is bridged from kreuzwerker/terraform-provider-docker,
internal/provider/*.go). MODEL.md lists each rule with the test that pins it.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import io
import json
import os
import platform as host_platform
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.tls

from .context_hash import provider_context_digest
from .resource import ALL, Context, Diff, Handler, PartialCreateError
from .state import Record
from .values import UNKNOWN_MARK, HarnessError, contains_unknown, unwrap

LABELS = [{"label": str, "value": str}]

# Provider settings the provider fills from the environment of whoever runs Pulumi when the
# program leaves them out: pulumi-docker provider/provider.go `setConfiguration` (a key that is
# present, even empty, is kept), and kreuzwerker internal/provider/provider.go `DefaultFunc`s.
ENV_DEFAULTS = {
    "host": "DOCKER_HOST",
    "caMaterial": "DOCKER_CA_MATERIAL",
    "certMaterial": "DOCKER_CERT_MATERIAL",
    "keyMaterial": "DOCKER_KEY_MATERIAL",
    "certPath": "DOCKER_CERT_PATH",
    "context": "DOCKER_CONTEXT",
    "sshOpts": "DOCKER_SSH_OPTS",
}
DEFAULT_HOST = "unix:///var/run/docker.sock"


class DockerProvider(Handler):
    """The explicit `pulumi:providers:docker` of a stack."""

    type = "pulumi:providers:docker"
    schema = {
        "host": str,
        "sshOpts": [str],
        "caMaterial": str,
        "certMaterial": str,
        "keyMaterial": str,
        "certPath": str,
        "context": str,
    }

    def validate(self, name: str, inputs: dict[str, Any]) -> None:
        super().validate(name, self.decoded(inputs))

    @staticmethod
    def decoded(inputs: dict[str, Any]) -> dict[str, Any]:
        """Provider config reaches a provider as strings: the SDK JSON-encodes lists."""
        plain: dict[str, Any] = unwrap(inputs)
        if isinstance(plain.get("sshOpts"), str):
            plain["sshOpts"] = json.loads(plain["sshOpts"])
        return plain

    def configuration(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """What the provider runs with: the program's settings, and for every setting left
        unset, the environment of whoever runs Pulumi."""
        config = self.decoded(inputs)
        # An empty setting is an unset one: the environment fills it (seen with the real CLI:
        # `certPath: ""` and DOCKER_CERT_PATH; kreuzwerker's `EnvDefaultFunc`s, for which an
        # empty string is unset). A context is only taken when no host is given (seen too:
        # DOCKER_CONTEXT beside an explicit host changes nothing).
        for key, variable in ENV_DEFAULTS.items():
            if not config.get(key) and os.environ.get(variable):
                value = os.environ[variable]
                config[key] = value.split() if key == "sshOpts" else value
        if config.get("context") and not self.decoded(inputs).get("host"):
            # The provider would take the host from the Docker CLI's context store instead.
            raise HarnessError(
                f"provider: context {config['context']!r} (from the program or DOCKER_CONTEXT) replaces the "
                "host with the Docker CLI context's; the harness does not model CLI contexts"
            )
        config.setdefault("host", DEFAULT_HOST)
        return config

    def configure(self, config: dict[str, Any], project_dir: Path) -> None:
        """Configuring the provider pings the engine for unix:// and tcp:// hosts, not for
        ssh:// (pulumi-docker provider/hybrid.go `Configure` -> provider/image.go
        `configureDockerClient`), in a preview and a destroy as well."""
        host = str(config["host"])
        if host.startswith("ssh://"):
            return
        try:
            client = docker_client(config, Path(tempfile.mkdtemp(prefix="harness-configure-")), project_dir)
            client.ping()
        except Exception as exc:
            raise HarnessError(f"failed to connect to any docker daemon ({host}: {exc})") from None


def _tls_files(config: dict[str, Any], workdir: Path) -> tuple[str, str, str] | None:
    """(ca, cert, key) files from the *Material settings or from certPath, as the provider
    builds its client (materials win over certPath)."""
    if config.get("caMaterial") or config.get("certMaterial") or config.get("keyMaterial"):
        workdir.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, key in (("ca.pem", "caMaterial"), ("cert.pem", "certMaterial"), ("key.pem", "keyMaterial")):
            if not config.get(key):
                raise HarnessError(
                    f"provider: {key} is missing (caMaterial, certMaterial, keyMaterial go together)"
                )
            (workdir / name).write_text(config[key])
            (workdir / name).chmod(0o600)
            paths.append(str(workdir / name))
        return paths[0], paths[1], paths[2]
    if config.get("certPath"):
        base = Path(config["certPath"])
        files = tuple(str(base / name) for name in ("ca.pem", "cert.pem", "key.pem"))
        for file in files:
            if not Path(file).is_file():
                raise HarnessError(
                    f"Error initializing Docker client: could not read {file} (certPath {base})"
                )
        return files[0], files[1], files[2]
    return None


def docker_client(config: dict[str, Any], workdir: Path, project_dir: Path) -> docker.DockerClient:
    """An engine client for a provider configuration: a unix socket, ssh:// through the ssh
    binary with the provider's sshOpts (relative paths resolve in the project directory, the
    provider's working directory), or tcp:// with client TLS."""
    host = str(config["host"])
    tls_files = _tls_files(config, workdir / "tls")
    if host.startswith("ssh://"):
        # docker-py runs `ssh` from PATH: put a wrapper that adds sshOpts first on PATH.
        real = shutil.which("ssh")
        if real is None:
            raise HarnessError("an ssh:// provider needs the ssh client")
        # The provider's connection helper runs ssh and reports its stderr when it fails; ssh
        # reads its options (a missing -F file, say) before it connects. Relative paths in
        # sshOpts resolve in the provider's working directory, the project directory.
        target = host.removeprefix("ssh://").split(":")[0]
        parsed = subprocess.run(
            [real, *(config.get("sshOpts") or []), "-G", target],
            capture_output=True,
            text=True,
            cwd=project_dir,
        )
        if parsed.returncode != 0:
            raise HarnessError(f"error during connect: ssh: {parsed.stderr.strip()}")
        wrapper = workdir / "ssh-wrapper" / "ssh"
        wrapper.parent.mkdir(parents=True, exist_ok=True)
        options = " ".join(shlex.quote(o) for o in config.get("sshOpts") or [])
        wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(real)} {options} "$@"\n')
        wrapper.chmod(0o700)
        os.environ["PATH"] = f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}"
        return docker.DockerClient(base_url=host, use_ssh_client=True, timeout=600)
    if tls_files is not None:
        if not host.startswith("tcp://"):
            # The provider would speak TLS to a unix socket, which cannot answer it.
            raise HarnessError(
                f"Error initializing Docker client: TLS settings (certPath or *Material) for {host}"
            )
        ca, cert, key = tls_files
        tls = docker.tls.TLSConfig(client_cert=(cert, key), ca_cert=ca, verify=True)
        # docker-py's APIClient is a requests Session: REQUESTS_CA_BUNDLE in the environment
        # would override the engine's CA set above. A fixed API version (Engine 20.10's; newer
        # engines accept it) avoids the version request made before trust_env can be turned off.
        client = docker.DockerClient(base_url=host, tls=tls, timeout=600, version="1.41")
        client.api.trust_env = False
        return client
    if host.startswith("tcp://"):
        raise HarnessError(f"Error initializing Docker client: {host} without client TLS")
    return docker.DockerClient(base_url=host, timeout=600)


def _retry_while(action: Any, transient: str, what: str, timeout: float = 30) -> None:
    """The provider's StateChangeConf around a delete: retry while the engine says `transient`;
    an object already gone counts as deleted."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            action()
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            if transient not in str(exc) or time.monotonic() > deadline:
                raise HarnessError(f"deleting {what} failed: {exc}") from None
        time.sleep(2)


def _labels(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {item["label"]: item["value"] for item in items or []}


def _duration_ns(text: str) -> int:
    """Go's `time.ParseDuration` (what the provider parses a healthcheck's durations with):
    a sequence of numbers with units, "1m0s", "1h30m", "1.5s", "500ms"."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise HarnessError(f"cannot parse duration {text!r}")
    scale = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
    return sum(int(float(number) * scale[unit]) for number, unit in parts)


class Network(Handler):
    """docker_network: every argument ForceNew, no Update; autonamed, so a network with a fixed
    name is deleted before it is replaced."""

    type = "docker:index/network:Network"
    autonamed = True
    schema = {
        "name": str,
        "driver": str,
        "labels": LABELS,
        "internal": bool,
        "attachable": bool,
        # Driver options, e.g. com.docker.network.bridge.enable_icc (resource_docker_network.go
        # `options`, passed as the create request's Options; ForceNew like every argument).
        "options": {"*": str},
    }
    force_new = ALL
    computed = ("scope",)

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        network = ctx.client(provider).networks.create(
            inputs["name"],
            driver=inputs.get("driver", "bridge"),
            labels=_labels(inputs.get("labels")),
            internal=inputs.get("internal", False),
            attachable=inputs.get("attachable", False),
            options=inputs.get("options") or None,
            check_duplicate=True,
        )
        return network.id, {**inputs, "id": network.id}

    def read(self, ctx: Context, record: Record) -> dict[str, Any] | None:
        try:
            ctx.client(record.provider).networks.get(record.id)
        except docker.errors.APIError:  # any inspect error drops it from the state
            return None
        return record.outputs

    def delete(self, ctx: Context, record: Record) -> None:
        """Retried for 30 s while containers are still attached ("has active endpoints")."""
        _retry_while(
            lambda: ctx.client(record.provider).networks.get(record.id).remove(),
            "has active endpoints",
            f"network {record.inputs.get('name')}",
        )


class Volume(Handler):
    """docker_volume: every argument ForceNew; autonamed, so a volume with a fixed name is
    deleted (its data with it) before it is replaced, by an empty one. Creating a volume whose
    name exists returns the existing one (the Docker API's VolumeCreate)."""

    type = "docker:index/volume:Volume"
    autonamed = True
    schema = {"name": str, "driver": str, "driverOpts": {"*": str}, "labels": LABELS}
    force_new = ALL
    computed = ("mountpoint",)

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        volume = ctx.client(provider).volumes.create(
            name=inputs["name"],
            driver=inputs.get("driver", "local"),
            driver_opts=inputs.get("driverOpts") or None,
            labels=_labels(inputs.get("labels")),
        )
        return volume.name, {**inputs, "mountpoint": volume.attrs.get("Mountpoint", "")}

    def read(self, ctx: Context, record: Record) -> dict[str, Any] | None:
        try:
            ctx.client(record.provider).volumes.get(record.id)
        except docker.errors.NotFound:
            return None
        return record.outputs

    def delete(self, ctx: Context, record: Record) -> None:
        """Retried for 30 s while a container uses it ("volume is in use"), then an error."""
        _retry_while(
            lambda: ctx.client(record.provider).api.remove_volume(record.id, force=True),
            "volume is in use",
            f"volume {record.id}",
        )


def engine_platform() -> str:
    """`linux/<GOARCH>` of the machine running Pulumi: what the Image's Check fills in when the
    program sets no platform (pulumi-docker provider/image.go; pulumi/pulumi-docker#475)."""
    machine = host_platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"linux/{arch}"


class Image(Handler):
    """docker.Image (native): a build on the provider's engine, then a push to `registry` unless
    skipPush. Check fills in the platform and the context digest; a changed digest or input
    rebuilds (an update); Read returns the state as it is, and Delete keeps the image."""

    type = "docker:index/image:Image"
    schema = {
        "imageName": str,
        "skipPush": bool,
        "buildOnPreview": bool,
        "build": {"context": str, "dockerfile": str, "args": {"*": str}, "platform": str},
        "registry": {"server": str, "username": str, "password": str},
    }
    # Diff never asks for a replacement: every change, the image name too, is an update that
    # builds again (pulumi-docker provider/provider.go `Diff`).
    force_new = frozenset()
    computed = ("repoDigest", "registryServer")
    computed_on_update = ("repoDigest",)

    def validate(self, name: str, inputs: dict[str, Any]) -> None:
        super().validate(name, inputs)
        plain = unwrap(inputs)
        if not plain.get("skipPush") and not plain.get("registry"):
            raise HarnessError(
                f"{self.type} {name!r}: a push needs registry (server, credentials) or skipPush"
            )

    def check(self, project_dir: Path, inputs: dict[str, Any]) -> dict[str, Any]:
        """The provider's Check fills in the platform of the machine running Pulumi when the
        program sets none, and the digest of the build context: a changed digest rebuilds."""
        build = dict(inputs.get("build") or {})
        if "platform" not in build:
            build["platform"] = engine_platform()
        if contains_unknown(build.get("context")) or contains_unknown(build.get("dockerfile")):
            return {**inputs, "build": {**build, "contextDigest": UNKNOWN_MARK}}
        # Both paths are relative to the provider's working directory (the project directory).
        context = (project_dir / build.get("context", ".")).resolve()
        dockerfile = (
            project_dir / build.get("dockerfile", f"{build.get('context', '.')}/Dockerfile")
        ).resolve()
        # A hidden input: a changed digest is a changed `build`, which rebuilds (an update).
        return {**inputs, "build": {**build, "contextDigest": provider_context_digest(context, dockerfile)}}

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        build = inputs["build"]
        context = (ctx.project_dir / build["context"]).resolve()
        dockerfile = (ctx.project_dir / build.get("dockerfile", f"{build['context']}/Dockerfile")).resolve()
        client = ctx.client(provider)
        ctx.log(f"building {inputs['imageName']} for {build['platform']} from {context}")
        started = time.monotonic()
        try:
            image, _ = client.images.build(
                path=str(context),
                dockerfile=str(dockerfile.relative_to(context)),
                buildargs=build.get("args") or {},
                tag=inputs["imageName"],
                platform=build["platform"],
                rm=True,
                forcerm=True,
            )
        except docker.errors.BuildError as exc:
            tail = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)
            raise HarnessError(f"building {inputs['imageName']} failed: {exc}\n{tail[-3000:]}") from None
        ctx.log(f"built {inputs['imageName']} in {time.monotonic() - started:.1f}s")
        built = client.images.get(image.id).attrs
        actual = f"{built.get('Os')}/{built.get('Architecture')}"
        if actual != build["platform"]:
            raise HarnessError(f"built {inputs['imageName']} for {actual}, not {build['platform']}")
        # The local image ID without a push, the pushed digest with one; the ID is the name.
        digest = image.id if inputs.get("skipPush") else self._push(ctx, client, inputs)
        return inputs["imageName"], {
            **inputs,
            "repoDigest": digest,
            "baseImageName": inputs["imageName"],
            "platform": build["platform"],
        }

    def update(self, ctx: Context, record: Record, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.create(ctx, record.name, inputs, record.provider)[1]

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


class RemoteImage(Handler):
    """docker_image: pulled when absent; Read removes it from the state when the engine no
    longer has it; delete removes it unless keepLocally."""

    type = "docker:index/remoteImage:RemoteImage"
    schema = {"name": str, "keepLocally": bool}
    force_new = frozenset({"name"})
    computed = ("imageId", "repoDigest")

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
        return f"{image.id}{inputs['name']}", {**inputs, "imageId": image.id, "repoDigest": digests[0]}

    def read(self, ctx: Context, record: Record) -> dict[str, Any] | None:
        try:
            ctx.client(record.provider).images.get(record.inputs["name"])
        except docker.errors.ImageNotFound:
            return None
        return record.outputs

    def delete(self, ctx: Context, record: Record) -> None:
        if not record.inputs.get("keepLocally"):
            with contextlib.suppress(docker.errors.ImageNotFound):
                ctx.client(record.provider).images.remove(record.inputs["name"])


class Container(Handler):
    """docker_container. Created, files uploaded, started; with `wait`, the create waits for
    the healthcheck to report healthy. Deleting stops it with `destroyGraceSeconds` (none: it is
    killed at once) and removes it with its anonymous volumes."""

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
        "wait": bool,
        "waitTimeout": int,
        "destroyGraceSeconds": int,
        "networksAdvanced": [{"name": str, "aliases": [str]}],
        # HostConfig.NetworkMode (e.g. host) and CapAdd/CapDrop, both ForceNew
        # (resource_docker_container.go `network_mode`, `capabilities`; set in
        # resource_docker_container_funcs.go resourceDockerContainerCreate).
        "networkMode": str,
        "capabilities": {"adds": [str], "drops": [str]},
        "ports": [{"internal": int, "external": int, "ip": str, "protocol": str}],
        "volumes": [{"volumeName": str, "hostPath": str, "containerPath": str, "readOnly": bool}],
        "uploads": [{"file": str, "content": str, "contentBase64": str, "executable": bool}],
        "healthcheck": {"tests": [str], "interval": str, "timeout": str, "retries": int, "startPeriod": str},
    }
    # Every argument but these replaces the container (kreuzwerker resource_docker_container.go).
    force_new = frozenset(
        {
            "name",
            "image",
            "command",
            "entrypoints",
            "envs",
            "labels",
            "networksAdvanced",
            "networkMode",
            "capabilities",
            "ports",
            "volumes",
            "uploads",
        }
    )
    provider_delete_before_replace = True
    computed = ("id", "exitCode", "hostname", "ipAddress")

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
            network_mode=inputs.get("networkMode"),
            # The Go client pulumi-docker creates with (docker/docker v28) writes them as the
            # kernel names them before they reach the engine (client/container_create.go
            # `normalizeCapabilities`); docker-py sends them as given.
            cap_add=_normalized_capabilities((inputs.get("capabilities") or {}).get("adds")),
            cap_drop=_normalized_capabilities((inputs.get("capabilities") or {}).get("drops")),
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
        self._find_image(ctx.client(provider), inputs["image"])
        try:
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
        except docker.errors.APIError as exc:
            raise HarnessError(f"Unable to create container {inputs['name']}: {exc}") from None
        container_id = created["Id"]
        outputs = {**inputs, "id": container_id}
        # From here on the container exists: a failure leaves it in the state.
        try:
            for network in networks[1:]:
                api.connect_container_to_network(
                    container_id, network["name"], aliases=network.get("aliases")
                )
            uploads = inputs.get("uploads") or []
            if uploads:
                api.put_archive(container_id, "/", _tar(uploads))
            api.start(container_id)
        except docker.errors.APIError as exc:
            raise PartialCreateError(
                f"Unable to start container {inputs['name']}: {exc}", container_id, outputs
            ) from None
        if inputs.get("wait"):
            self._wait_healthy(api, container_id, inputs, outputs)
        # Create ends with Read: a container that already exited stays created, and Read writes
        # must_run=false into the state (the next `up` starts it again).
        return container_id, self._read_back(api.inspect_container(container_id), outputs, refresh=False)

    @staticmethod
    def _find_image(client: docker.DockerClient, image: str) -> None:
        """`findImage`: an image missing on the engine is pulled, and the create fails if it
        cannot be (resource_docker_container_funcs.go, resourceDockerContainerCreate)."""
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            try:
                client.images.pull(image)
            except docker.errors.APIError as exc:
                raise HarnessError(
                    f"Unable to create container with image {image}: unable to pull image: {exc}"
                ) from None

    @staticmethod
    def _read_back(attrs: dict[str, Any], outputs: dict[str, Any], *, refresh: bool = True) -> dict[str, Any]:
        """What Read writes into the state: must_run=false for a stopped container, and the
        healthcheck as the engine reports it, the durations in Go's `Duration.String()` ("1m0s")
        (resourceDockerContainerRead); the next diff is against these. The capabilities only on
        a refresh, as the Go client created them (CAP_NET_ADMIN for NET_ADMIN): the create's
        state keeps them as the program wrote them. Both seen with the real CLI (issue 20):
        the create's state had "1m0s" and NET_RAW, a refresh read CAP_NET_RAW."""
        outputs = dict(outputs)
        if "healthcheck" in outputs and attrs["Config"].get("Healthcheck"):
            engine = attrs["Config"]["Healthcheck"]
            read = {"tests": engine.get("Test") or [], "retries": engine.get("Retries", 0)}
            for key, field in (
                ("interval", "Interval"),
                ("timeout", "Timeout"),
                ("startPeriod", "StartPeriod"),
            ):
                read[key] = _go_duration(int(engine.get(field) or 0))
            outputs["healthcheck"] = {key: read[key] for key in outputs["healthcheck"]}
        if refresh and "capabilities" in outputs:
            host = attrs["HostConfig"]
            read_caps = {"adds": host.get("CapAdd") or [], "drops": host.get("CapDrop") or []}
            outputs["capabilities"] = {key: read_caps[key] for key in outputs["capabilities"]}
        state = attrs["State"]
        if not state.get("Running") and outputs.get("mustRun", True):
            return {**outputs, "mustRun": False, "exitCode": state.get("ExitCode")}
        return outputs

    @staticmethod
    def _wait_healthy(api: Any, container_id: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        """`wait`: inspect every second until the healthcheck reports healthy; no early exit for
        a crashed container, an error once `waitTimeout` (default 60 s) has passed."""
        timeout = int(inputs.get("waitTimeout", 60))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = api.inspect_container(container_id)["State"].get("Health")
            if health is None:
                raise PartialCreateError(
                    "you have supplied a 'wait' argument, but the container does not have a "
                    "healthcheck defined",
                    container_id,
                    outputs,
                )
            if health.get("Status") == "healthy":
                return
            time.sleep(1)
        raise PartialCreateError(
            f"creating {inputs['name']}: container failed to be in healthy state", container_id, outputs
        )

    def diff(self, old: Record, new: dict[str, Any], **kwargs: Any) -> Diff:
        # The healthcheck and capabilities are diffed against what Read wrote into the state,
        # not against the last inputs (the bridge diffs the config with the state); the
        # capabilities as sets (the schema's `add` and `drop` are TypeSet). A config that
        # switches to the read-back spelling is no change (seen with the real CLI).
        against = dict(old.inputs)
        for key in ("healthcheck", "capabilities"):
            if key in old.outputs and key in new:
                same = _as_read(key, new[key]) == _as_read(key, old.outputs[key])
                against[key] = new[key] if same else old.outputs[key]
        found = super().diff(dataclasses.replace(old, inputs=against), new, **kwargs)
        # must_run=false read back into the state differs from the program's (default) true.
        if (
            old.outputs.get("mustRun") is False
            and new.get("mustRun", True)
            and "mustRun" not in found.changed
        ):
            return Diff((*found.changed, "mustRun"), found.replace, found.delete_before_replace)
        return found

    def read(self, ctx: Context, record: Record) -> dict[str, Any] | None:
        """A missing container leaves the state; a stopped one with must_run gets must_run=false
        (resourceDockerContainerRead, v4)."""
        try:
            attrs = ctx.client(record.provider).api.inspect_container(record.id)
        except docker.errors.NotFound:
            return None
        return self._read_back(attrs, record.outputs)

    def update(self, ctx: Context, record: Record, inputs: dict[str, Any]) -> dict[str, Any]:
        """resourceDockerContainerUpdate: a changed restart policy is applied with
        ContainerUpdate, must_run false -> true starts the container; every other change that
        does not replace (the healthcheck, wait, destroyGraceSeconds) lands in the state only."""
        api = ctx.client(record.provider).api
        if inputs.get("restart", "no") != record.inputs.get("restart", "no"):
            restart = inputs.get("restart", "no")
            api.update_container(record.id, restart_policy={"Name": restart if restart != "no" else ""})
        if record.outputs.get("mustRun") is False and inputs.get("mustRun", True):
            api.start(record.id)
        return {**record.outputs, **inputs, "mustRun": inputs.get("mustRun", True)}

    def delete(self, ctx: Context, record: Record) -> None:
        """Stop with `destroyGraceSeconds` as the timeout (unset: 0, killed at once), then
        force-remove with its anonymous volumes (resourceDockerContainerDelete)."""
        try:
            container = ctx.client(record.provider).containers.get(record.id)
        except docker.errors.NotFound:
            return
        container.stop(timeout=int(record.inputs.get("destroyGraceSeconds", 0)))
        container.remove(force=True, v=True)


def _normalized_capabilities(capabilities: list[str] | None) -> list[str] | None:
    """Upper case, CAP_ prefixed but ALL, no duplicates, sorted (docker/docker v28 client,
    `normalizeCapabilities`)."""
    if capabilities is None:
        return None
    named = {
        c.upper() if c.upper() == "ALL" or c.upper().startswith("CAP_") else "CAP_" + c.upper()
        for c in capabilities
    }
    return sorted(named)


def _go_duration(nanoseconds: int) -> str:
    """Go's `time.Duration.String()` for the whole seconds an engine healthcheck holds. Written
    here again, not imported from components/: the model of upstream stays independent of the
    program it checks."""
    seconds, rest = divmod(nanoseconds, 1_000_000_000)
    if rest:
        return f"{nanoseconds / 1_000_000_000:g}s"
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"


def _as_read(key: str, value: Any) -> Any:
    if key == "capabilities" and isinstance(value, dict):
        return {k: sorted(v or []) for k, v in value.items()}
    return value


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
            # `content` is text, `contentBase64` bytes (resource_docker_container_funcs.go
            # decodes it before the upload).
            if "contentBase64" in upload:
                data = base64.b64decode(upload["contentBase64"])
            else:
                data = upload["content"].encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o755 if upload.get("executable") else 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


HANDLERS = (Network(), Volume(), Image(), RemoteImage(), Container())
