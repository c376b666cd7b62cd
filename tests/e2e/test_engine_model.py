"""The harness's model of the Pulumi engine and its providers, pinned on the real Docker engine.

Each test runs a small probe program and checks one rule of tests/harness/MODEL.md: what the
real `pulumi up`, `preview` and `destroy` do. Each runs twice: through the harness, and through
the real `pulumi` CLI and providers where one is on PATH (`[cli]`, skipped elsewhere, CI
included). The program's own tests trust these rules; here they are shown to hold for both.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests import janitor
from tests.deployers import pulumi_cli_available
from tests.e2e.polling import eventually
from tests.e2e.probe import Probe
from tests.harness.docker_provider import engine_platform

BASE = "local/python:3.11-bookworm"


@pytest.fixture(params=["harness", "cli"])
def probe_kind(request: pytest.FixtureRequest) -> str:
    """What runs the probes: the harness, or the real `pulumi` CLI and providers."""
    if request.param == "cli" and not pulumi_cli_available():
        pytest.skip("pulumi CLI not on PATH: the probe's real-CLI variant cannot run here")
    return str(request.param)


@pytest.fixture
def probe(tmp_path: Path, engine: docker.DockerClient, probe_kind: str) -> Iterator[Probe]:
    """A probe project; whatever it leaves in its state is destroyed afterwards."""
    made = Probe(tmp_path, kind=probe_kind)
    janitor.enter(engine, made.token)
    yield made
    if made.has_state():
        made.run("destroy")
    for container in engine.containers.list(all=True, filters={"name": made.token}):
        container.remove(force=True)
    for volume in engine.volumes.list(filters={"name": made.token}):
        volume.remove(force=True)
    for network in engine.networks.list(names=[f"{made.token}-net"]):
        network.remove()
    janitor.leave(engine, made.token)


def _built_image(probe: Probe) -> str:
    """A program with one Image built from a tiny context, no platform set; its name."""
    context = probe.project / "ctx"
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text(f"FROM {BASE}\nCOPY . /ctx/\n")
    (context / "file.txt").write_text("one\n")
    probe.program(
        f"""
        docker.Image("img", image_name="{probe.token}-img:1", skip_push=True,
                     build=docker.DockerBuildArgs(context="ctx"), opts=opts())
        """
    )
    return f"{probe.token}-img:1"


# --- 1. image platform -------------------------------------------------------------------------
def test_real_engine_an_image_without_a_platform_is_built_for_the_machine_running_pulumi(
    probe: Probe, engine: docker.DockerClient
) -> None:
    image = _built_image(probe)
    probe.ok("up")
    # The provider's Check filled in the platform of the machine running Pulumi.
    assert probe.record("img")["inputs"]["build"]["platform"] == engine_platform()
    built = engine.images.get(image).attrs
    assert f"{built['Os']}/{built['Architecture']}" == engine_platform()


# --- 2. no implicit refresh --------------------------------------------------------------------
def test_real_engine_up_trusts_the_state_until_it_is_refreshed(
    probe: Probe, engine: docker.DockerClient
) -> None:
    probe.program('docker.Network("net", name="TOKEN-net", opts=opts())\n')
    probe.ok("up")
    engine.networks.get(f"{probe.token}-net").remove()

    assert probe.changes(probe.ok("up")) == {}, "without a refresh the missing network goes unnoticed"
    assert not engine.networks.list(names=[f"{probe.token}-net"])

    again = probe.ok("up", "--refresh")
    assert probe.changes(again) == {"net": "create"}
    assert engine.networks.list(names=[f"{probe.token}-net"])


def test_real_engine_pulumi_yaml_refresh_always_refreshes_every_up(
    probe: Probe, engine: docker.DockerClient
) -> None:
    probe.program(
        'docker.Network("net", name="TOKEN-net", opts=opts())\n',
        pulumi_yaml_extra="options:\n  refresh: always\n",
    )
    probe.ok("up")
    engine.networks.get(f"{probe.token}-net").remove()
    assert probe.changes(probe.ok("up")) == {"net": "create"}


def test_real_engine_a_refresh_never_notices_a_removed_built_image(
    probe: Probe, engine: docker.DockerClient
) -> None:
    image = _built_image(probe)
    probe.ok("up")
    engine.images.remove(image)
    # pulumi-docker's Image Read returns the state as it is.
    assert probe.changes(probe.ok("up", "--refresh")) == {}
    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(image)


# --- 3. replacement cascades -------------------------------------------------------------------
CASCADE = """
a = docker.Container("a", name="TOKEN-a", image="{base}", command=["sleep", "{seconds}"], opts=opts())
# b reads a's name output; c only waits for a.
b = docker.Container("b", name="TOKEN-b", image="{base}", command=["sleep", "600"],
                     uploads=[docker.ContainerUploadArgs(file="/peer", content=a.name)], opts=opts())
c = docker.Container("c", name="TOKEN-c", image="{base}", command=["sleep", "600"], opts=opts(depends_on=[a]))
"""


def test_real_engine_replacing_a_delete_first_resource_replaces_dependents_that_read_its_outputs(
    probe: Probe, engine: docker.DockerClient
) -> None:
    probe.program(CASCADE.format(base=BASE, seconds=600))
    probe.ok("up")
    before = {n: engine.containers.get(f"{probe.token}-{n}").id for n in "abc"}

    probe.program(CASCADE.format(base=BASE, seconds=601))
    planned = probe.changes(probe.ok("preview"))
    # Containers are delete-before-replace (pulumi-docker resources.go): b's upload would be
    # unknown while a is gone, and uploads replace, so b goes too; c only depends on a.
    assert planned == {"a": "replace", "b": "replace"}
    assert probe.changes(probe.ok("up")) == planned
    after = {n: engine.containers.get(f"{probe.token}-{n}").id for n in "abc"}
    assert after["a"] != before["a"] and after["b"] != before["b"] and after["c"] == before["c"]


# --- 4. delete before replace --------------------------------------------------------------------
# pulumi-docker autonames networks and volumes (`SetAutonaming`); one the program names is deleted
# before it is replaced (pulumi-terraform-bridge `nameRequiresDeleteBeforeReplace`). Seen with
# the real CLI; the harness had modelled a create-first replacement that collided.
def test_real_engine_a_fixed_name_network_is_deleted_before_it_is_replaced(
    probe: Probe, engine: docker.DockerClient
) -> None:
    body = (
        'docker.Network("net", name="TOKEN-net", '
        'labels=[docker.NetworkLabelArgs(label="v", value="{v}")], opts=opts())\n'
    )
    probe.program(body.format(v=1))
    probe.ok("up")
    first = engine.networks.get(f"{probe.token}-net").id
    probe.program(body.format(v=2))
    assert probe.changes(probe.ok("up")) == {"net": "replace"}
    now = engine.networks.list(names=[f"{probe.token}-net"])
    assert [n.id != first for n in now] == [True], "one network of the name, a new one"


def test_real_engine_a_fixed_name_volume_is_deleted_with_its_data_before_it_is_replaced(
    probe: Probe, engine: docker.DockerClient
) -> None:
    body = (
        'docker.Volume("vol", name="TOKEN-vol", '
        'labels=[docker.VolumeLabelArgs(label="v", value="{v}")], opts=opts({o}))\n'
    )
    probe.program(body.format(v=1, o=""))
    probe.ok("up")
    volume = {f"{probe.token}-vol": {"bind": "/v"}}
    engine.containers.run(BASE, ["sh", "-c", "echo kept > /v/data"], volumes=volume, remove=True)

    probe.program(body.format(v=2, o='ignore_changes=["labels"]'))
    assert probe.changes(probe.ok("up")) == {}, "ignored labels leave the volume alone"

    probe.program(body.format(v=2, o=""))
    assert probe.changes(probe.ok("up")) == {"vol": "replace"}
    # The old volume went first, its data with it; the new one of the same name is empty (why
    # the program's data volume ignores label changes: components/host.py).
    read = engine.containers.run(BASE, ["sh", "-c", "cat /v/data 2>&1 || true"], volumes=volume, remove=True)
    assert b"No such file" in read
    assert engine.volumes.get(f"{probe.token}-vol").attrs["Labels"] == {"v": "2"}


# --- components ----------------------------------------------------------------------------------
COMPONENT = """
class Box(pulumi.ComponentResource):
    def __init__(self, name):
        super().__init__("probe:index:Box", name)
        docker.Network("net", name="TOKEN-net", opts=opts(parent=self))


{boxes}
"""


def test_real_engine_a_component_is_created_once_and_deleted_when_it_leaves_the_program(
    probe: Probe, engine: docker.DockerClient
) -> None:
    probe.program(COMPONENT.format(boxes='Box("box")'))
    assert probe.changes(probe.ok("preview")) == {"engine": "create", "box": "create", "net": "create"}
    probe.ok("up")
    assert probe.changes(probe.ok("up")) == {}
    probe.program(COMPONENT.format(boxes=""))
    assert probe.changes(probe.ok("up")) == {"box": "delete", "net": "delete"}
    assert not engine.networks.list(names=[f"{probe.token}-net"])


# --- 7. destroy grace --------------------------------------------------------------------------
# The clean stop takes 2 s: time a container with a grace period has, and one killed at once
# (SIGTERM then SIGKILL straight away) has not, however the two signals interleave.
GRACEFUL = """
vol = docker.Volume("vol", name="TOKEN-vol", opts=opts())
docker.Container("c", name="TOKEN-c", image="{base}",
    command=["sh", "-c", "trap 'sleep 2; echo clean > /v/stopped; exit 0' TERM; while :; do sleep 0.2; done"],
    volumes=[docker.ContainerVolumeArgs(volume_name=vol.name, container_path="/v")],
    {grace} opts=opts())
"""


@pytest.mark.parametrize(("grace", "stopped"), [("", ""), ("destroy_grace_seconds=10,", "clean\n")])
def test_real_engine_a_container_is_killed_at_once_unless_it_has_destroy_grace_seconds(
    probe: Probe, engine: docker.DockerClient, grace: str, stopped: str
) -> None:
    probe.program(GRACEFUL.format(base=BASE, grace=grace))
    probe.ok("up")
    probe.program(f'docker.Volume("vol", name="{probe.token}-vol", opts=opts())\n')
    probe.ok("up")  # deletes the container, keeps the volume
    out = engine.containers.run(
        BASE,
        ["sh", "-c", "cat /v/stopped 2>/dev/null || true"],
        volumes={f"{probe.token}-vol": {"bind": "/v"}},
        remove=True,
    )
    assert out.decode() == stopped


# --- 8 and 14. exits, waits and partial creates -------------------------------------------------
def test_real_engine_a_container_that_exits_at_once_does_not_fail_up(
    probe: Probe, engine: docker.DockerClient
) -> None:
    probe.program(
        f'docker.Container("c", name="{probe.token}-c", image="{BASE}", '
        'command=["sh", "-c", "exit 3"], opts=opts())\n'
    )
    probe.ok("up")  # the provider does not wait for must_run at create
    container = engine.containers.get(f"{probe.token}-c")

    def exited() -> bool:
        container.reload()
        return bool(container.status == "exited")

    eventually(exited, timeout=30, what="the container exiting")
    # A refresh reads it back stopped: must_run=false in the state, so the plan starts it again.
    assert probe.changes(probe.ok("preview", "--refresh")) == {"c": "update"}


def test_real_engine_wait_fails_up_when_the_healthcheck_never_passes_and_destroy_removes_it(
    probe: Probe, engine: docker.DockerClient
) -> None:
    probe.program(
        f"""
        docker.Container("c", name="TOKEN-c", image="{BASE}", command=["sleep", "600"],
            healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "false"], interval="1s", retries=1),
            wait=True, wait_timeout=4, opts=opts())
        """
    )
    failed = probe.run("up")
    assert failed.returncode != 0 and "failed to be in healthy state" in failed.stderr
    # The container exists and stays in the state (an init error), so destroy removes it.
    assert probe.record("c")["init_error"]
    assert engine.containers.get(f"{probe.token}-c")
    probe.ok("destroy")
    assert not engine.containers.list(all=True, filters={"name": f"{probe.token}-c"})


def test_real_engine_a_container_that_cannot_start_stays_in_the_state_for_destroy(
    probe: Probe, engine: docker.DockerClient
) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        probe.program(
            f"""
            docker.Container("c", name="TOKEN-c", image="{BASE}", command=["sleep", "600"],
                ports=[docker.ContainerPortArgs(internal=80, external={port}, ip="127.0.0.1")], opts=opts())
            """
        )
        failed = probe.run("up")
    assert failed.returncode != 0 and "Unable to start container" in failed.stderr
    assert engine.containers.get(f"{probe.token}-c").status == "created"
    probe.ok("destroy")
    assert not engine.containers.list(all=True, filters={"name": f"{probe.token}-c"})


# --- 9. in-place updates -----------------------------------------------------------------------
IN_PLACE = """
docker.Container("c", name="TOKEN-c", image="{base}", command=["sleep", "600"], restart="{restart}",
    healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "{check}"], interval="5s"), opts=opts({o}))
"""


def test_real_engine_a_changed_healthcheck_reaches_only_the_state_and_restart_updates_in_place(
    probe: Probe, engine: docker.DockerClient
) -> None:
    probe.program(IN_PLACE.format(base=BASE, restart="no", check="true", o=""))
    probe.ok("up")
    first = engine.containers.get(f"{probe.token}-c")

    probe.program(IN_PLACE.format(base=BASE, restart="unless-stopped", check="false", o=""))
    assert probe.changes(probe.ok("up")) == {"c": "update"}
    now = engine.containers.get(f"{probe.token}-c")
    assert now.id == first.id
    assert now.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped", "restart: updated in place"
    assert now.attrs["Config"]["Healthcheck"]["Test"] == ["CMD", "true"], "healthcheck: state only"

    # `replaceOnChanges` alone makes a create-first replacement: the provider asks to delete
    # first only for replacements of its own diff (pulumi-terraform-bridge provider.go `Diff`),
    # so the new container collides with the old one's name (seen with the real CLI).
    probe.program(
        IN_PLACE.format(
            base=BASE, restart="unless-stopped", check="date", o='replace_on_changes=["healthcheck"]'
        )
    )
    failed = probe.run("up")
    assert failed.returncode != 0 and "is already in use" in failed.stderr
    assert engine.containers.get(f"{probe.token}-c").id == first.id
    # Which is why every container of the program with `replaceOnChanges` deletes first.
    probe.program(
        IN_PLACE.format(
            base=BASE,
            restart="unless-stopped",
            check="date",
            o='replace_on_changes=["healthcheck"], delete_before_replace=True',
        )
    )
    assert probe.changes(probe.ok("up")) == {"c": "replace"}
    assert engine.containers.get(f"{probe.token}-c").attrs["Config"]["Healthcheck"]["Test"] == ["CMD", "date"]


READ_BACK = """
docker.Container("c", name="TOKEN-c", image="{base}", command=["sleep", "600"],
    capabilities=docker.ContainerCapabilitiesArgs(adds=["{cap}"], drops=["ALL"]),
    healthcheck=docker.ContainerHealthcheckArgs(tests=["CMD", "true"], interval="{interval}"), opts=opts())
"""


def test_real_engine_a_container_is_diffed_against_the_engines_spelling_of_what_it_read(
    probe: Probe, engine: docker.DockerClient
) -> None:
    # The create's state has the healthcheck as the engine reads it ("1m0s"), and the
    # capabilities as written; a refresh reads those back too (CAP_NET_RAW): the same config is
    # then an update, and with a refresh a replacement (capabilities are ForceNew). Seen with
    # the real CLI on the program, whose Pulumi.yaml refreshes every `up` (tests/harness/MODEL.md).
    probe.program(READ_BACK.format(base=BASE, cap="NET_RAW", interval="60s"))
    probe.ok("up")
    first = engine.containers.get(f"{probe.token}-c")
    assert first.attrs["HostConfig"]["CapAdd"] == ["CAP_NET_RAW"]
    assert probe.changes(probe.ok("up")) == {"c": "update"}, "the healthcheck, from the create's state"
    assert probe.changes(probe.ok("up", "--refresh")) == {"c": "replace"}, "the capabilities, read back"
    assert engine.containers.get(f"{probe.token}-c").id != first.id
    # In the engine's spelling: nothing to do, though the last inputs said otherwise (the diff
    # is against the state; the real CLI's `up` after the program's fix: 38 unchanged).
    probe.program(READ_BACK.format(base=BASE, cap="CAP_NET_RAW", interval="1m0s"))
    assert probe.changes(probe.ok("up", "--refresh")) == {}


# --- 10. destroy from the state ----------------------------------------------------------------
def test_real_engine_destroy_runs_the_state_not_the_program(probe: Probe, tmp_path: Path) -> None:
    marker = tmp_path / "deleted"
    probe.program(
        f"""
        command.local.Command(
            "c", create="true", delete='echo "$WHO" > {marker}', environment={{"WHO": "from the state"}}
        )
        """
    )
    probe.ok("up")
    # The program is broken by now; destroy does not run it.
    (probe.project / "__main__.py").write_text("raise SystemExit('the program must not run')\n")
    probe.ok("destroy")
    assert marker.read_text() == "from the state\n"


# --- 11. the provider pings ----------------------------------------------------------------------
def test_real_engine_the_provider_pings_a_unix_engine_when_configured_even_in_a_preview(
    tmp_path: Path, probe_kind: str
) -> None:
    absent = Probe(tmp_path / "unix", host=f"unix://{tmp_path}/no-engine.sock", kind=probe_kind)
    absent.program('docker.Network("net", name="TOKEN-net", opts=opts())\n')
    failed = absent.run("preview")
    assert failed.returncode != 0 and "failed to connect to any docker daemon" in failed.stderr

    # ssh:// is not pinged when configured: the preview passes without any host.
    remote = Probe(tmp_path / "ssh", host="ssh://nobody@127.0.0.1:1", kind=probe_kind)
    remote.program('docker.Network("net", name="TOKEN-net", opts=opts())\n')
    assert remote.changes(remote.ok("preview")) == {"engine": "create", "net": "create"}


# --- 12. the environment fills what the program leaves out ---------------------------------------
def test_real_engine_provider_settings_left_out_come_from_the_environment(
    probe: Probe, tmp_path: Path
) -> None:
    leak = {"DOCKER_CERT_PATH": str(tmp_path / "someone-elses-certs")}
    probe.program('docker.Network("net", name="TOKEN-net", opts=opts())\n')
    failed = probe.run("preview", env=leak)
    assert failed.returncode != 0 and "someone-elses-certs" in failed.stderr

    # An empty setting is an unset one (kreuzwerker's `EnvDefaultFunc`s): giving `""` does not
    # keep the environment out. Seen with the real CLI; the harness had modelled the opposite,
    # and the program relied on it (it now refuses these variables: plan/provider_environment.py).
    probe.program(
        """
        explicit = docker.Provider("explicit", host="unix:///var/run/docker.sock", cert_path="",
                                   ca_material="", cert_material="", key_material="", context="")
        docker.Network("net", name="TOKEN-net", opts=pulumi.ResourceOptions(provider=explicit))
        """,
        provider=False,
    )
    failed = probe.run("preview", env=leak)
    assert failed.returncode != 0 and "someone-elses-certs" in failed.stderr
    # A context beside an explicit host changes nothing.
    probe.ok("preview", env={"DOCKER_CONTEXT": "someone-elses-context"})


# --- 13. how the language host prints errors -----------------------------------------------------
def test_real_engine_a_run_error_prints_its_message_and_other_errors_a_traceback(probe: Probe) -> None:
    probe.program('raise pulumi.RunError("dockerHost: explain what is wrong")\n')
    failed = probe.run("preview")
    assert failed.returncode == 1 and "dockerHost: explain what is wrong" in failed.stderr
    assert "Traceback" not in failed.stderr

    probe.program('raise ValueError("an internal error")\n')
    failed = probe.run("preview")
    assert failed.returncode == 1 and "Traceback" in failed.stderr
