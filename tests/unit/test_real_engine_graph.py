"""The program's graph obeys the real engine's and providers' rules (tests/harness/MODEL.md).

Each test names the rule it pins; under the old program each failed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from components.docker_inputs import go_duration
from tests.deployers import PROJECT_DIR
from tests.unit.conftest import BASE_CONFIG, Preview, preview

ROOT = "jupyterhub"
CONTAINER = "docker:index/container:Container"


def short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def by_type(result: Preview, type_: str) -> list[dict[str, Any]]:
    return [r for r in result.resources if r["type"] == type_]


def registry_stack(tmp_path: Path) -> Preview:
    config = {**BASE_CONFIG, "jupyterhub-docker:registry": {"enabled": True, "port": 5123}}
    result = preview(tmp_path, config=config)
    assert result.returncode == 0, result.stderr
    return result


def tls_stack(tmp_path: Path) -> Preview:
    config = {
        **BASE_CONFIG,
        "jupyterhub-docker:tls": {"mode": "self-signed", "domain": "hub.example.org"},
        "jupyterhub-docker:publish": {"port": 8080, "httpsPort": 8443},
    }
    result = preview(tmp_path, config=config)
    assert result.returncode == 0, result.stderr
    return result


def test_real_engine_1_images_are_built_for_the_docker_hosts_platform(baseline: Preview) -> None:
    connection = baseline.by_name(f"{ROOT}-host-connection")
    for image in by_type(baseline, "docker:index/image:Image"):
        # Set from the connection check's report of the engine, not left to the provider's
        # default (the machine running Pulumi).
        assert "platform" in image["inputs"]["build"], image["name"]
        assert connection["urn"] in image["propertyDependencies"]["build"], image["name"]


def test_real_engine_2_every_operation_refreshes_first() -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert project["options"]["refresh"] == "always"


def test_real_engine_3_the_hub_and_the_edge_name_the_proxy_without_reading_its_outputs(
    tmp_path: Path,
) -> None:
    result = tls_stack(tmp_path)
    proxy = result.by_name(f"{ROOT}-proxy-container")["urn"]
    for name in (f"{ROOT}-hub-container", f"{ROOT}-edge-container"):
        resource = result.by_name(name)
        # A replaced proxy must not make their uploads unknown (which would replace them).
        assert proxy not in resource["propertyDependencies"].get("uploads", []), name
        assert proxy in resource["dependencies"], f"{name} still starts after the proxy"


def test_real_engine_4_objects_with_fixed_names_are_deleted_before_they_are_replaced(tmp_path: Path) -> None:
    result = registry_stack(tmp_path)
    fixed = [
        r
        for r in result.custom()
        if r["type"] in (CONTAINER, "docker:index/network:Network", "docker:index/volume:Volume")
    ]
    assert len(fixed) >= 6
    for resource in fixed:
        assert resource["options"]["deleteBeforeReplace"] is True, resource["name"]
    for volume in by_type(result, "docker:index/volume:Volume"):
        # A label this program adds one day must not replace (delete) users' data.
        assert volume["options"]["ignoreChanges"] == ["labels"], volume["name"]


def test_real_engine_6_the_registry_is_probed_on_the_docker_host(tmp_path: Path) -> None:
    result = registry_stack(tmp_path)
    registry = result.by_name(f"{ROOT}-registry-container")
    assert registry["inputs"]["healthcheck"]["tests"][0] == "CMD"
    for command in by_type(result, "command:local:Command"):
        assert "JHUB_REGISTRY_URL" not in command["inputs"].get("environment", {}), "no probe from here"
    # Probed inside the container (docker exec on the Docker host), not from this machine.
    ready = result.by_name(f"{ROOT}-registry-ready")
    assert json.loads(ready["inputs"]["environment"]["JHUB_PROBE"])[0] == "wget"
    assert registry["urn"] in ready["dependencies"]
    image = result.by_name(f"{ROOT}-notebook-default-build-image")
    assert ready["urn"] in image["dependencies"]


def test_real_engine_7_every_container_stops_gracefully(tmp_path: Path) -> None:
    for resource in by_type(registry_stack(tmp_path), CONTAINER) + by_type(tls_stack(tmp_path), CONTAINER):
        assert resource["inputs"]["destroyGraceSeconds"] >= 5, resource["name"]


def test_real_engine_8_9_a_hub_that_never_answers_fails_up_and_a_new_healthcheck_replaces_it(
    baseline: Preview, tmp_path: Path
) -> None:
    hub = baseline.by_name(f"{ROOT}-hub-container")
    # `up` waits in the readiness step, not in the provider's `wait` (whose "healthy" comes a
    # whole healthcheck interval late): it fails after 60 s, or at once when the hub exits.
    assert "wait" not in hub["inputs"] and "waitTimeout" not in hub["inputs"]
    readiness = baseline.by_name(f"{ROOT}-readiness-check")
    assert readiness["inputs"]["environment"]["JHUB_READY_TIMEOUT"] == "60"
    assert readiness["inputs"]["environment"]["JHUB_HUB_CONTAINER"] == "jhub-unit-hub"
    assert hub["urn"] in readiness["dependencies"]
    assert hub["inputs"]["healthcheck"]["tests"][0] == "CMD"
    assert hub["options"]["replaceOnChanges"] == ["healthcheck"]
    registry = registry_stack(tmp_path).by_name(f"{ROOT}-registry-container")
    assert registry["options"]["replaceOnChanges"] == ["healthcheck"]


def test_real_engine_8_an_oidc_hub_gets_the_discovery_allowance_on_top(tmp_path: Path) -> None:
    auth = {"type": "oidc", "issuer": "https://id.example.org", "clientId": "hub", "allowAll": True}
    result = preview(
        tmp_path, config={**BASE_CONFIG, "jupyterhub-docker:auth": auth}, secrets={"auth.clientSecret": "s"}
    )
    assert result.returncode == 0, result.stderr
    assert result.by_name(f"{ROOT}-readiness-check")["inputs"]["environment"]["JHUB_READY_TIMEOUT"] == "180"


def test_real_engine_10_the_state_holds_no_path_of_this_checkout(tmp_path: Path) -> None:
    config = {
        **BASE_CONFIG,
        "jupyterhub-docker:dockerHost": "ssh://deploy@hub.example.org",
        "jupyterhub-docker:ssh": {"knownHosts": "hub.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHQ7"},
    }
    result = preview(tmp_path, config=config, stack="remote-unit")
    assert result.returncode == 0, result.stderr
    # `pulumi destroy` runs from the state: paths must resolve in whichever checkout runs it.
    assert str(PROJECT_DIR) not in json.dumps(result.resources)
    provider = result.by_name(f"{ROOT}-host-provider")
    assert json.loads(provider["inputs"]["sshOpts"]) == ["-F", ".jhub-docker/remote-unit/ssh/config"]


def test_real_engine_11_an_engine_that_is_not_there_is_explained_before_anything_registers(
    tmp_path: Path,
) -> None:
    socket = tmp_path / "no-engine.sock"
    # The real check, which finds a missing socket without any engine.
    config = {**BASE_CONFIG, "jupyterhub-docker:dockerHost": f"unix://{socket}"}
    result = preview(tmp_path, config=config, real_preflight=True)
    assert result.returncode == 1
    assert (
        f"dockerHost: unix://{socket}: no socket at {socket}: is the Docker engine installed and running"
        in (result.stderr)
    )
    assert result.custom() == []


def test_real_engine_12_provider_settings_are_explicit_so_the_environment_cannot_fill_them(
    baseline: Preview,
) -> None:
    inputs = baseline.by_name(f"{ROOT}-host-provider")["inputs"]
    for key in ("certPath", "caMaterial", "certMaterial", "keyMaterial", "context"):
        assert inputs[key] == "", key


def test_real_engine_13_a_bad_config_prints_its_message_without_a_traceback(tmp_path: Path) -> None:
    config = {**BASE_CONFIG, "jupyterhub-docker:publish": {"port": "lots"}}
    result = preview(tmp_path, config=config)
    assert result.returncode == 1
    assert "publish.port:" in result.stderr and "Traceback" not in result.stderr


def test_real_engine_15_published_ports_are_checked_on_the_host_before_anything_is_created(
    tmp_path: Path,
) -> None:
    result = registry_stack(tmp_path)
    check = result.by_name(f"{ROOT}-host-ports")
    ports = json.loads(check["inputs"]["environment"]["JHUB_PORTS"])
    assert ports == [
        {"address": "127.0.0.1", "key": "publish.port", "port": 8123},
        {"address": "127.0.0.1", "key": "registry.port", "port": 5123},
    ]
    assert check["inputs"]["triggers"] == [check["inputs"]["environment"]["JHUB_PORTS"]], (
        "re-checked on change"
    )
    for resource in result.custom():
        if resource["type"].startswith("docker:index/") and resource["name"] != f"{ROOT}-host-probe-image":
            assert check["urn"] in resource["dependencies"], resource["name"]


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(\d+)s", duration)
    assert match, duration
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def test_real_engine_16_durations_are_written_as_go_writes_them() -> None:
    assert [go_duration(s) for s in (0, 5, 59, 60, 90, 3600, 3661)] == [
        "0s",
        "5s",
        "59s",
        "1m0s",
        "1m30s",
        "1h0m0s",
        "1h1m1s",
    ]


def test_real_engine_16_containers_are_written_as_the_engine_reads_them_back(
    baseline: Preview, tmp_path: Path
) -> None:
    # The provider reads a container's healthcheck back from the engine when it creates it,
    # and its capabilities on every refresh, and diffs the config against that (kreuzwerker
    # resource_docker_container_funcs.go, `resourceDockerContainerRead`): "60s" came back
    # "1m0s", and NET_ADMIN came back CAP_NET_ADMIN (the Go client normalizes it on create).
    # Every `up` of the real CLI (Pulumi.yaml refreshes first) replaced the hub, the firewall
    # and the API proxy (tests/harness/MODEL.md).
    (tmp_path / "registry").mkdir()
    (tmp_path / "tls").mkdir()
    containers = (
        by_type(baseline, CONTAINER)
        + by_type(registry_stack(tmp_path / "registry"), CONTAINER)
        + by_type(tls_stack(tmp_path / "tls"), CONTAINER)
    )
    checked = 0
    for container in containers:
        for key, value in (container["inputs"].get("healthcheck") or {}).items():
            if key in ("interval", "timeout", "startPeriod", "startInterval"):
                assert value == go_duration(_seconds(value)), (container["name"], key, value)
                checked += 1
        for capability in (container["inputs"].get("capabilities") or {}).get("adds", []):
            assert capability.startswith("CAP_"), (container["name"], capability)
    assert checked >= 8  # the hub, the API proxy, the firewall, the registry
