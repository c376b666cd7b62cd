"""The Docker API proxy, from inside the real hub container: code running in the hub (as an
attacker with code execution there would) cannot get root on the host through the engine, while
JupyterHub's own spawning, stopping and the stack's destroy still work."""

from __future__ import annotations

import json
from collections.abc import Iterator

import docker
import pytest

from plan.naming import LABEL_ROLE
from tests.e2e.conftest import ADMIN_PASSWORD, USER_PASSWORD, Deployment, StackFactory, stack_objects
from tests.e2e.hubclient import HubUser

NOTHING: dict[str, list[str]] = {"containers": [], "volumes": [], "networks": []}
REFUSED = "refused by the stack's Docker API proxy"

# Run by the hub's own Python with the hub's own docker-py and DOCKER_HOST: every attempt an
# attacker in the hub would make first, each answered by its HTTP status and message.
ATTACKS = r"""
import io, json, os, sys
import docker
prefix, image, victim = sys.argv[1], sys.argv[2], sys.argv[3]
client = docker.from_env()
api = client.api
spawner_labels = {
    "org.jupyterhub-docker.project": "jupyterhub-docker",
    "org.jupyterhub-docker.stack": prefix.removeprefix("jhub-"),
    "org.jupyterhub-docker.role": "user-server",
}
hardened = dict(cap_drop=["ALL"], security_opt=["no-new-privileges:true"], network_mode=prefix + "-users")
results = {}

def attempt(case, call):
    try:
        call()
        results[case] = [200, ""]
    except docker.errors.APIError as error:
        results[case] = [error.status_code, error.explanation or ""]
    except Exception as error:
        results[case] = [0, repr(error)]

def create(name, labels=spawner_labels, **host):
    config = api.create_host_config(**{**hardened, **host})
    return api.create_container(image, ["sleep", "600"], name=prefix + "-user-" + name,
                                labels=labels, host_config=config)

attempt("privileged", lambda: create("p1", privileged=True))
attempt("bind_root", lambda: create("p2", binds={"/": {"bind": "/host", "mode": "rw"}}))
attempt("bind_socket", lambda: create("p3", binds={"/var/run/docker.sock": {"bind": "/s", "mode": "rw"}}))
attempt("host_network", lambda: create("p4", network_mode="host"))
attempt("host_pid", lambda: create("p5", pid_mode="host"))
attempt("cap_sys_admin", lambda: create("p6", cap_add=["SYS_ADMIN"]))
attempt("no_labels", lambda: create("p7", labels={}))
attempt("other_image", lambda: api.create_container("local/debian:bookworm", name=prefix + "-user-p8",
        labels=spawner_labels, host_config=api.create_host_config(**hardened)))
attempt("exec_victim", lambda: api.exec_create(victim, ["id"]))
attempt("build", lambda: client.images.build(fileobj=io.BytesIO(b"FROM scratch\n"), tag="evil"))
attempt("volume_bind_driver", lambda: client.volumes.create(prefix + "-home-evil", driver="local",
        driver_opts={"type": "none", "o": "bind", "device": "/"}))
attempt("network_create", lambda: client.networks.create("evil"))
attempt("list_containers", lambda: client.containers.list(all=True))
attempt("stop_proxy", lambda: api.stop(prefix + "-proxy"))
attempt("remove_hub", lambda: api.remove_container(prefix + "-hub", force=True))
attempt("inspect_api_proxy", lambda: api.inspect_container(prefix + "-docker-api"))
attempt("swarm_init", lambda: client.swarm.init())
# Below API 1.24 the engine would apply a HostConfig sent with start: docker-py no longer
# speaks it, an attacker's raw request does.
old = api.request("POST", f"{api.base_url}/v1.23/containers/{victim}/start",
                  json={"Privileged": True, "Binds": ["/:/host"]})
results["old_api_start"] = [old.status_code, old.json().get("message", "")]

# The review's two requests, as raw bytes (no client library rewrites them): a first HostConfig
# the engine would merge with the spawner's, and a '#' that hid an import from a URL.
def raw(method, target, body=b""):
    import socket
    from urllib.parse import urlsplit
    address = urlsplit(os.environ["DOCKER_HOST"].replace("tcp://", "http://"))
    head = f"{method} {target} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    with socket.create_connection((address.hostname, address.port), timeout=60) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return [status, json.loads(answer.partition(b"\r\n\r\n")[2] or b"{}").get("message", "")]

spawner_body = api.create_container_config(image, ["sleep", "600"], labels=spawner_labels,
                                           host_config=api.create_host_config(**hardened))
first = '{"HostConfig":{"Privileged":true,"PidMode":"host","Binds":["/:/host"]},'
results["duplicate_hostconfig"] = raw("POST", f"/v1.41/containers/create?name={prefix}-user-p9",
                                      (first + json.dumps(spawner_body)[1:]).encode())
repository, tag = image.rsplit(":", 1)
results["fragment_import"] = raw(
    "POST", f"/v1.41/images/create?fromSrc=http://127.0.0.1:9/x.tar&repo={repository}&tag={tag}"
    f"&x=#&fromImage={repository}&tag={tag}")
results["info"] = sorted(api.info())
results["victim_inspect"] = api.inspect_container(victim)["Config"]["Labels"]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def guarded(make_stack: StackFactory) -> Iterator[Deployment]:
    stack = make_stack(
        {"type": "shared-password", "allowAll": True, "admins": ["teacher"]},
        secret_config={"auth.password": USER_PASSWORD, "auth.adminPassword": ADMIN_PASSWORD},
    )
    yield stack
    if not stack.destroyed:
        stack.destroy()


def test_api_proxy_the_hub_has_no_socket_the_api_proxy_has_it_and_no_capability(
    guarded: Deployment, engine: docker.DockerClient
) -> None:
    hub = engine.containers.get(f"{guarded.prefix}-hub")
    assert [m["Type"] for m in hub.attrs["Mounts"]] == ["volume"], hub.attrs["Mounts"]
    assert hub.exec_run(["test", "-e", "/var/run/docker.sock"]).exit_code == 1
    assert f"DOCKER_HOST=tcp://{guarded.prefix}-docker-api:2375" in hub.attrs["Config"]["Env"]
    api = engine.containers.get(f"{guarded.prefix}-docker-api")
    assert [m["Destination"] for m in api.attrs["Mounts"] if m["Type"] == "bind"] == ["/var/run/docker.sock"]
    assert api.attrs["Config"]["Labels"][LABEL_ROLE] == "docker-api"
    assert api.attrs["HostConfig"]["CapDrop"] == ["ALL"] and not api.attrs["HostConfig"]["CapAdd"]
    # Never published, and on its own internal network, shared only with the hub.
    assert not api.attrs["HostConfig"]["PortBindings"]
    network = engine.networks.get(f"{guarded.prefix}-docker-api-net")
    assert network.attrs["Internal"] is True
    assert sorted(network.attrs["Containers"][c]["Name"] for c in network.attrs["Containers"]) == sorted(
        [f"{guarded.prefix}-docker-api", f"{guarded.prefix}-hub"]
    )
    assert set(api.attrs["NetworkSettings"]["Networks"]) == {f"{guarded.prefix}-docker-api-net"}


def test_api_proxy_refuses_what_an_attacker_in_the_hub_tries_and_spawning_still_works(
    guarded: Deployment, engine: docker.DockerClient
) -> None:
    ann = HubUser(guarded.url, "ann")
    assert ann.login(USER_PASSWORD).status_code == 200
    ann.start_server()
    assert ann.run_code("6 * 7") == "42"
    victim = f"{guarded.prefix}-user-ann"
    image = engine.containers.get(victim).attrs["Config"]["Image"]
    image_id = engine.images.get(image).id
    before = stack_objects(engine, guarded.spec.name)

    hub = engine.containers.get(f"{guarded.prefix}-hub")
    run = hub.exec_run(["python3", "-c", ATTACKS, guarded.prefix, image, victim])
    assert run.exit_code == 0, run.output.decode()[-2000:]
    results = json.loads(run.output.decode().strip().splitlines()[-1])
    info, labels = results.pop("info"), results.pop("victim_inspect")
    for case, (status, message) in results.items():
        assert status == 403, (case, status, message)
        assert REFUSED in message, (case, message)
    assert "privileged" in results["privileged"][1].lower()
    assert "HostConfig.binds ['/:/host:rw'] is refused" in results["bind_root"][1]
    assert "label org.jupyterhub-docker.stack" in results["no_labels"][1]
    assert "/exec" in results["exec_victim"][1]
    assert "speaks 1.41 only" in results["old_api_start"][1]
    assert "repeats" in results["duplicate_hostconfig"][1]
    assert "character" in results["fragment_import"][1]
    assert engine.images.get(image).id == image_id, "the notebook image was retagged"
    # What the hub may read: its user servers, and the engine's size (not its host's details).
    assert sorted(info) == ["Architecture", "MemTotal", "NCPU", "OSType", "ServerVersion"]
    assert labels[LABEL_ROLE] == "user-server"
    # Nothing the attempts asked for exists: no new container, volume or network, no image.
    assert stack_objects(engine, guarded.spec.name) == before
    assert not engine.images.list(name="evil")
    assert engine.containers.get(f"{guarded.prefix}-proxy").status == "running"

    # JupyterHub itself still stops and starts servers through the proxy.
    ann.stop_server()
    assert victim not in stack_objects(engine, guarded.spec.name)["containers"]
    ann.start_server()
    assert ann.run_code("7 * 6") == "42"
    log = engine.containers.get(f"{guarded.prefix}-docker-api").logs().decode()
    assert "refused POST /v1.41/containers/create" in log


def test_api_proxy_an_admin_deletes_a_user_and_destroy_still_leaves_nothing(
    guarded: Deployment, engine: docker.DockerClient
) -> None:
    for name in ("bo", "cy"):
        person = HubUser(guarded.url, name)
        assert person.login(USER_PASSWORD).status_code == 200
        person.start_server()
    # An admin deletes a person whose server runs: the hub stops and removes it through the proxy.
    teacher = HubUser(guarded.url, "teacher")
    assert teacher.login(ADMIN_PASSWORD).status_code == 200
    assert teacher.api("DELETE", "users/bo").status_code == 204
    assert f"{guarded.prefix}-user-bo" not in stack_objects(engine, guarded.spec.name)["containers"]
    # Destroy with cy's server running.
    guarded.destroy()
    assert stack_objects(engine, guarded.spec.name) == NOTHING
