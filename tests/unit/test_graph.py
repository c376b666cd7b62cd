"""The program's resource graph, as registered under mocks: shape, settings, secrets, diffs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.deployers import PROJECT_DIR
from tests.harness.values import SECRET_MARKER
from tests.unit.conftest import ADMIN_PASSWORD, BASE_CONFIG, PASSWORD, Preview, preview

ROOT = "jupyterhub"
DOCKER_TYPES = ("docker:index/",)


def short(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def upload(resource: dict[str, Any], path: str) -> Any:
    uploads = resource["inputs"]["uploads"]
    if SECRET_MARKER in uploads:  # a secret anywhere in a list makes the whole list secret
        uploads = uploads[SECRET_MARKER]
    return next(u for u in uploads if u["file"] == path)["content"]


def test_every_component_hangs_under_the_root_deployment(baseline: Preview) -> None:
    root = baseline.by_name(ROOT)
    assert root["type"] == "jupyterhub-docker:index:JupyterHubDeployment"
    components = {r["name"]: r for r in baseline.resources if not r["custom"] and r["name"] != ROOT}
    assert set(components) == {
        f"{ROOT}-{part}"
        for part in (
            "host",
            "network",
            "data",
            "hub-image",
            "notebook-default",
            "proxy",
            "user-servers",
            "docker-api",
            "hub",
            "readiness",
            "users-network",
            "firewall",
            "firewall-image",
        )
    } | {f"{ROOT}-notebook-default-build"}
    for name, component in components.items():
        assert component["type"].startswith("jupyterhub-docker:index:"), name
        parent = short(component["parent"])
        assert parent == ROOT or name.startswith(parent), (name, parent)


def test_each_docker_object_is_named_after_the_stack_and_on_the_one_explicit_provider(
    baseline: Preview,
) -> None:
    provider = baseline.by_name(f"{ROOT}-host-provider")
    assert provider["type"] == "pulumi:providers:docker"
    assert provider["inputs"]["host"] == "unix:///var/run/docker.sock"
    docker_resources = [r for r in baseline.custom() if r["type"].startswith(DOCKER_TYPES)]
    assert docker_resources
    for resource in docker_resources:
        assert resource["provider"].startswith(provider["urn"]), resource["name"]

    def named(kind: str) -> list[str]:
        return sorted(r["inputs"]["name"] for r in docker_resources if r["type"] == f"docker:index/{kind}")

    assert named("network:Network") == ["jhub-unit-docker-api-net", "jhub-unit-net", "jhub-unit-users"]
    assert named("volume:Volume") == ["jhub-unit-data"]
    assert named("container:Container") == [
        "jhub-unit-docker-api",
        "jhub-unit-firewall",
        "jhub-unit-hub",
        "jhub-unit-proxy",
    ]


def test_dependencies_order_cleanup_between_the_network_and_the_hub(baseline: Preview) -> None:
    deps = {r["name"]: {short(u) for u in r["dependencies"]} for r in baseline.custom()}
    cleanup, hub, proxy = f"{ROOT}-user-servers-cleanup", f"{ROOT}-hub-container", f"{ROOT}-proxy-container"
    # Destroy deletes in reverse: hub first, then the user servers, then network and volume.
    assert {f"{ROOT}-network-network", f"{ROOT}-data-volume"} <= deps[cleanup]
    assert cleanup in deps[hub]
    assert {
        f"{ROOT}-hub-image-image",
        f"{ROOT}-data-volume",
        proxy,
        f"{ROOT}-notebook-default-version-check",
    } <= deps[hub]
    assert {hub, proxy} <= deps[f"{ROOT}-readiness-check"]
    assert f"{ROOT}-proxy-token" in deps[proxy]


def test_the_rendered_settings_describe_the_stack(baseline: Preview) -> None:
    hub = baseline.by_name(f"{ROOT}-hub-container")
    settings = json.loads(upload(hub, "/etc/jupyterhub/settings.json"))
    assert settings["auth"] == {
        "type": "shared-password",
        "admins": ["teacher"],
        "allowedUsers": [],
        "allowAll": True,
    }
    assert settings["proxy"]["apiUrl"] == "http://jhub-unit-proxy:8001"
    assert settings["hub"] == {"host": "jhub-unit-hub", "port": 8081}
    spawner = settings["spawner"]
    # network.isolation (on by default): servers join only the users network.
    assert spawner["network"] == "jhub-unit-users"
    assert spawner["containerPrefix"] == "jhub-unit-user" and spawner["volumePrefix"] == "jhub-unit-home"
    assert spawner["labels"]["org.jupyterhub-docker.stack"] == "unit"
    assert spawner["image"].startswith("jhub-unit-notebook-default:")
    assert spawner["images"] == {"Default": spawner["image"]}
    assert settings["registry"] is None
    assert (spawner["memLimit"], spawner["cpuLimit"], spawner["startTimeout"]) == ("2G", 1.0, 120)
    proxy = baseline.by_name(f"{ROOT}-proxy-container")
    assert proxy["inputs"]["ports"] == [{"internal": 8000, "external": 8123, "ip": "127.0.0.1"}]


def test_secrets_stay_secret_and_never_appear_in_plain_inputs(baseline: Preview) -> None:
    hub = baseline.by_name(f"{ROOT}-hub-container")
    assert SECRET_MARKER in hub["inputs"]["uploads"]
    secrets = json.loads(upload(hub, "/run/jhub/secrets.json"))
    assert secrets["sharedPassword"] == PASSWORD and secrets["adminPassword"] == ADMIN_PASSWORD
    proxy = baseline.by_name(f"{ROOT}-proxy-container")
    assert SECRET_MARKER in proxy["inputs"]["uploads"]
    # The hub's one variable says where the engine is (the API proxy); no secret is in one.
    assert hub["inputs"]["envs"] == ["DOCKER_HOST=tcp://jhub-unit-docker-api:2375"]
    assert "envs" not in proxy["inputs"]

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if k != SECRET_MARKER}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    visible = json.dumps([plain(r["inputs"]) for r in baseline.resources]) + json.dumps(baseline.outputs)
    for secret in (PASSWORD, ADMIN_PASSWORD, "preview-random-jupyterhub-proxy-token"):
        assert secret not in visible


def test_running_the_program_twice_registers_identical_inputs(baseline: Preview, tmp_path: Path) -> None:
    again = preview(tmp_path)
    assert again.returncode == 0, again.stderr
    # Registration order varies (resources register concurrently); what they register may not.
    assert {r["urn"]: r for r in again.resources} == {r["urn"]: r for r in baseline.resources}
    assert again.outputs == baseline.outputs


def test_changing_the_password_changes_only_the_hub_and_its_readiness(
    baseline: Preview, tmp_path: Path
) -> None:
    changed = preview(
        tmp_path, secrets={"auth.password": "another-password", "auth.adminPassword": ADMIN_PASSWORD}
    )
    assert changed.returncode == 0, changed.stderr
    before = {r["urn"]: r["inputs"] for r in baseline.resources}
    after = {r["urn"]: r["inputs"] for r in changed.resources}
    assert set(before) == set(after)
    differing = {short(urn) for urn in before if before[urn] != after[urn]}
    # The hub container is replaced (new id), so readiness re-runs; nothing else moves:
    # not the proxy (users keep their connections), the volumes, the images or the network.
    assert differing == {f"{ROOT}-hub-container", f"{ROOT}-readiness-check"}


def test_a_kept_data_stack_retains_the_data_volume_on_destroy(tmp_path: Path) -> None:
    result = preview(tmp_path, config={**BASE_CONFIG, "jupyterhub-docker:keepData": True})
    assert result.returncode == 0, result.stderr
    assert result.by_name(f"{ROOT}-data-volume")["options"]["retainOnDelete"] is True
    cleanup = result.by_name(f"{ROOT}-user-servers-cleanup")
    assert cleanup["inputs"]["environment"]["JHUB_KEEP_DATA"] == "true"


def test_a_bad_config_registers_nothing_and_names_the_key(tmp_path: Path) -> None:
    config = {**BASE_CONFIG, "jupyterhub-docker:auth": {"type": "gitHub"}}
    result = preview(tmp_path, config=config, secrets={})
    assert result.returncode == 1
    assert "auth.type: 'gitHub' is not one of: shared-password, native, firstuse," in result.stderr
    assert [r for r in result.resources if r["custom"]] == []


def test_a_missing_build_context_fails_before_any_resource(tmp_path: Path) -> None:
    config = {**BASE_CONFIG, "jupyterhub-docker:notebook": {"build": {"context": "no-such-dir"}}}
    result = preview(tmp_path, config=config)
    assert result.returncode == 1
    assert "notebook.build.context: 'no-such-dir' does not exist" in result.stderr
    assert [r for r in result.resources if r["custom"]] == []


def test_the_committed_dev_stack_is_a_valid_native_auth_stack() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.harness", "record", "--stack", "dev"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["outputs"]["url"] == "http://127.0.0.1:8000/"
    assert document["outputs"]["admins"] == ["admin"]
    hub = next(r for r in document["resources"] if r["name"] == f"{ROOT}-hub-container")
    settings = json.loads(upload(hub, "/etc/jupyterhub/settings.json"))
    assert settings["auth"]["type"] == "native"
    assert settings["auth"]["native"] == {
        "signup": True,
        "openSignup": False,
        "minimumPasswordLength": 8,
        "allowedFailedLogins": 5,
        "lockoutSeconds": 600,
    }


def test_changing_the_auth_mode_changes_only_the_hub_and_its_readiness(
    baseline: Preview, tmp_path: Path
) -> None:
    config = {
        **BASE_CONFIG,
        "jupyterhub-docker:auth": {"type": "native", "admins": ["teacher"], "allowAll": True},
    }
    changed = preview(tmp_path, config=config, secrets={})
    assert changed.returncode == 0, changed.stderr
    before = {r["urn"]: r["inputs"] for r in baseline.resources}
    after = {r["urn"]: r["inputs"] for r in changed.resources}
    assert set(before) == set(after)
    differing = {short(urn) for urn in before if before[urn] != after[urn]}
    assert differing == {f"{ROOT}-hub-container", f"{ROOT}-readiness-check"}


def test_oauth_settings_carry_the_callback_derived_from_the_public_url(tmp_path: Path) -> None:
    auth = {"type": "github", "clientId": "Iv1.abc", "allowedOrganizations": ["lab"]}
    result = preview(
        tmp_path,
        config={**BASE_CONFIG, "jupyterhub-docker:auth": auth},
        secrets={"auth.clientSecret": "gh-secret-1"},
    )
    assert result.returncode == 0, result.stderr
    hub = result.by_name(f"{ROOT}-hub-container")
    settings = json.loads(upload(hub, "/etc/jupyterhub/settings.json"))
    assert settings["auth"]["github"] == {
        "clientId": "Iv1.abc",
        "callbackUrl": "http://127.0.0.1:8123/hub/oauth_callback",
        "allowedOrganizations": ["lab"],
        "scopes": ["read:user", "read:org"],
    }
    assert json.loads(upload(hub, "/run/jhub/secrets.json"))["clientSecret"] == "gh-secret-1"
    assert "gh-secret-1" not in json.dumps(settings)


def test_allowed_users_from_a_file_join_the_inline_list(tmp_path: Path) -> None:
    userlist = tmp_path / "userlist"
    userlist.write_text("# participants\nAlice\nbob  # late registration\n\n")
    auth = {"type": "native", "allowedUsers": ["carol"], "allowedUsersFile": str(userlist)}
    result = preview(tmp_path, config={**BASE_CONFIG, "jupyterhub-docker:auth": auth}, secrets={})
    assert result.returncode == 0, result.stderr
    settings = json.loads(upload(result.by_name(f"{ROOT}-hub-container"), "/etc/jupyterhub/settings.json"))
    assert settings["auth"]["allowedUsers"] == ["alice", "bob", "carol"]


def test_with_tls_the_edge_is_the_only_published_container_and_the_key_stays_secret(tmp_path: Path) -> None:
    config = {
        **BASE_CONFIG,
        "jupyterhub-docker:tls": {"mode": "self-signed", "domain": "hub.example.org"},
        "jupyterhub-docker:publish": {"port": 8080, "httpsPort": 8443},
    }
    result = preview(tmp_path, config=config)
    assert result.returncode == 0, result.stderr
    assert result.outputs["url"] == "https://hub.example.org:8443/"
    assert "caCertificate" in result.outputs
    proxy = result.by_name(f"{ROOT}-proxy-container")
    assert proxy["inputs"].get("ports", []) == []
    edge = result.by_name(f"{ROOT}-edge-container")
    assert edge["inputs"]["ports"] == [
        {"internal": 80, "external": 8080, "ip": "127.0.0.1"},
        {"internal": 443, "external": 8443, "ip": "127.0.0.1"},
    ]
    assert edge["inputs"]["networksAdvanced"][0]["aliases"] == ["hub.example.org"]
    assert SECRET_MARKER in edge["inputs"]["uploads"], "the private key travels as a secret"
    deps = {short(u) for u in edge["dependencies"]}
    assert {f"{ROOT}-certificate-cert", f"{ROOT}-certificate-key", f"{ROOT}-proxy-container"} <= deps
    types = {r["type"] for r in result.custom()}
    assert {
        "tls:index/selfSignedCert:SelfSignedCert",
        "tls:index/locallySignedCert:LocallySignedCert",
    } <= types
    readiness = result.by_name(f"{ROOT}-readiness-check")
    assert readiness["inputs"]["environment"]["JHUB_HEALTH_URL"] == "https://hub.example.org:8443/hub/health"
    assert f"{ROOT}-edge-container" in {short(u) for u in readiness["dependencies"]}


def test_without_tls_there_is_no_edge(baseline: Preview) -> None:
    assert not [r for r in baseline.resources if "edge" in r["name"] or r["type"].startswith("tls:")]


def test_a_missing_image_context_is_named_by_its_place_in_the_list(tmp_path: Path) -> None:
    images = [
        {"name": "Python", "build": {"context": "notebook"}},
        {"name": "Lesson", "build": {"context": "nope"}},
    ]
    config = {**BASE_CONFIG, "jupyterhub-docker:notebook": {"images": images}}
    result = preview(tmp_path, config=config)
    assert result.returncode == 1
    assert "notebook.images[1].build.context: 'nope' does not exist" in result.stderr
    assert [r for r in result.resources if r["custom"]] == []


def test_changing_one_file_in_one_image_context_changes_only_that_image_and_its_consumers(
    tmp_path: Path,
) -> None:
    contexts = tmp_path / "contexts"
    for name in ("one", "two"):
        shutil.copytree(PROJECT_DIR / "notebook", contexts / name)
    images = [{"name": n, "build": {"context": str(contexts / n)}} for n in ("one", "two")]
    config = {**BASE_CONFIG, "jupyterhub-docker:notebook": {"images": images}}
    states = tmp_path / "previews"
    states.mkdir()
    before = preview(states, config=config)
    assert before.returncode == 0, before.stderr
    (contexts / "two" / "requirements.txt").write_text("jupyterlab==4.6.6\nnumpy==2.3.5\n")
    after = preview(states, config=config)
    old = {r["urn"]: r["inputs"] for r in before.resources}
    new = {r["urn"]: r["inputs"] for r in after.resources}
    differing = {short(urn) for urn in old if old[urn] != new[urn]}
    # The rebuilt image, its version check, the hub that lists it (and readiness after it), and
    # the Docker API proxy, whose policy allows exactly the stack's images.
    assert differing == {
        f"{ROOT}-notebook-two-build-image",
        f"{ROOT}-notebook-two-version-check",
        f"{ROOT}-hub-container",
        f"{ROOT}-docker-api-container",
        f"{ROOT}-readiness-check",
    }


def test_with_a_registry_built_images_are_pushed_with_its_credentials(tmp_path: Path) -> None:
    config = {
        **BASE_CONFIG,
        "jupyterhub-docker:registry": {"enabled": True, "port": 5123, "username": "teacher"},
    }
    secrets = {
        "auth.password": PASSWORD,
        "auth.adminPassword": ADMIN_PASSWORD,
        "registry.password": "reg-pass-1",
    }
    result = preview(tmp_path, config=config, secrets=secrets)
    assert result.returncode == 0, result.stderr
    image = result.by_name(f"{ROOT}-notebook-default-build-image")
    assert image["inputs"]["imageName"].startswith("localhost:5123/jhub-unit/notebook-default:")
    # An object holding a secret is secret as a whole.
    registry_input = image["inputs"]["registry"][SECRET_MARKER]
    assert registry_input == {"server": "localhost:5123", "username": "teacher", "password": "reg-pass-1"}
    assert f"{ROOT}-registry-ready" in {short(u) for u in image["dependencies"]}, (
        "pushes wait for the registry to answer"
    )
    registry = result.by_name(f"{ROOT}-registry-container")
    # Pushes wait for it to answer, probed inside it on the Docker host (the ready step).
    assert "wait" not in registry["inputs"]
    assert registry["inputs"]["healthcheck"]["tests"][:2] == ["CMD", "wget"]
    assert SECRET_MARKER in registry["inputs"]["uploads"], "the htpasswd file travels as a secret"
    assert result.outputs["registryImages"] == [image["inputs"]["imageName"]]
    again = preview(tmp_path, config=config, secrets=secrets)
    assert {r["urn"]: r for r in again.resources} == {r["urn"]: r for r in result.resources}, "same htpasswd"


def test_an_ssh_host_pins_its_key_and_everything_waits_for_the_connection_check(tmp_path: Path) -> None:
    key_line = "hub.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHQ7"
    config = {
        **BASE_CONFIG,
        "jupyterhub-docker:dockerHost": "ssh://deploy@hub.example.org:2222",
        "jupyterhub-docker:dockerSocket": "/run/docker.sock",
        "jupyterhub-docker:ssh": {"knownHosts": key_line},
    }
    result = preview(tmp_path, config=config, stack="remote-unit")
    assert result.returncode == 0, result.stderr
    provider = result.by_name(f"{ROOT}-host-provider")
    assert provider["inputs"]["host"] == "ssh://deploy@hub.example.org:2222"
    ssh_opts = json.loads(provider["inputs"]["sshOpts"])
    ssh_config = Path(ssh_opts[1])
    assert ssh_opts[0] == "-F" and ssh_config.parts[-4:] == (".jhub-docker", "remote-unit", "ssh", "config")
    written = ssh_config.read_text()
    assert "StrictHostKeyChecking yes" in written and "BatchMode yes" in written
    assert (ssh_config.parent / "known_hosts").read_text().strip() == key_line
    connection = result.by_name(f"{ROOT}-host-connection")
    assert connection["inputs"]["environment"]["JHUB_SSH_TARGET"] == "deploy@hub.example.org"
    assert connection["inputs"]["environment"]["JHUB_SSH_PORT"] == "2222"
    docker_resources = [r for r in result.custom() if r["type"].startswith("docker:")]
    for resource in docker_resources:
        assert connection["urn"] in resource["dependencies"], resource["name"]
    # The remote host's socket: in the Docker API proxy (and the firewall), never in the hub.
    socket = {"hostPath": "/run/docker.sock", "containerPath": "/var/run/docker.sock"}
    assert socket in result.by_name(f"{ROOT}-docker-api-container")["inputs"]["volumes"]
    assert all("hostPath" not in v for v in result.by_name(f"{ROOT}-hub-container")["inputs"]["volumes"])
    cleanup = result.by_name(f"{ROOT}-user-servers-cleanup")
    assert cleanup["inputs"]["environment"]["DOCKER_HOST"] == "ssh://deploy@hub.example.org:2222"
    assert cleanup["inputs"]["environment"]["JHUB_SSH_BIN"].endswith(".jhub-docker/remote-unit/ssh/bin")
    readiness = result.by_name(f"{ROOT}-readiness-check")
    # Published on the remote host's loopback: not reachable from here, so probed on the host.
    assert readiness["inputs"]["environment"]["JHUB_FROM_HOST_IMAGE"].startswith("jhub-remote-unit-hub:")


def test_the_outputs_say_how_to_reach_a_hub_on_a_remote_loopback(tmp_path: Path) -> None:
    config = {
        **BASE_CONFIG,
        "jupyterhub-docker:dockerHost": "ssh://deploy@hub.example.org",
        "jupyterhub-docker:ssh": {"knownHosts": "hub.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHQ7"},
    }
    result = preview(tmp_path, config=config, stack="remote-unit")
    assert result.returncode == 0, result.stderr
    assert result.outputs["dockerHost"] == "ssh://deploy@hub.example.org"
    assert "ssh -N -L 8123:127.0.0.1:8123 -p 22 deploy@hub.example.org" in result.outputs["access"]


def test_a_local_hub_is_reached_by_its_url(baseline: Preview) -> None:
    assert baseline.outputs["access"] == "open http://127.0.0.1:8123/"
