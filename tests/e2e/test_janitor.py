"""The janitor removes what a killed test run left on the engine, and nothing of a live run."""

from __future__ import annotations

import secrets
import socket

import docker
import docker.errors

from tests import janitor

BASE = "local/python:3.11-bookworm"


def _exists(engine: docker.DockerClient, kind: str, name: str) -> bool:
    collection = {
        "container": engine.containers,
        "network": engine.networks,
        "volume": engine.volumes,
        "image": engine.images,
    }[kind]
    try:
        collection.get(name)
    except docker.errors.NotFound:
        return False
    return True


def _leave_like_a_run(engine: docker.DockerClient, run: str, token: str) -> list[tuple[str, str]]:
    """What a run leaves: a peer (container, network, volume) labelled with the run, and a stack
    (container, network, volume named by its prefix) recorded in the ledger."""
    labels = {janitor.RUN_LABEL: run}
    prefix = f"jhub-{token}-"
    engine.networks.create(f"peer-{token}", labels=labels)
    engine.volumes.create(f"peer-{token}-docker", labels=labels)
    engine.containers.create(BASE, ["sleep", "600"], name=f"peer-{token}", labels=labels)
    engine.volumes.create(
        janitor.LEDGER_PREFIX + prefix.strip("-"), labels={**labels, janitor.PREFIX_LABEL: prefix}
    )
    engine.networks.create(f"{prefix}net")
    engine.volumes.create(f"{prefix}data")
    engine.containers.create(BASE, ["sleep", "600"], name=f"{prefix}hub", network=f"{prefix}net")
    engine.images.get(BASE).tag(f"{prefix}hub", "built")
    engine.images.get(BASE).tag(f"localhost:5000/{prefix.rstrip('-')}/notebook", "pushed")
    return [
        ("container", f"peer-{token}"),
        ("container", f"{prefix}hub"),
        ("network", f"peer-{token}"),
        ("network", f"{prefix}net"),
        ("volume", f"peer-{token}-docker"),
        ("volume", f"{prefix}data"),
        ("image", f"{prefix}hub:built"),
        ("image", f"localhost:5000/{prefix.rstrip('-')}/notebook:pushed"),
    ]


def test_janitor_removes_what_a_dead_run_left_and_keeps_what_a_live_run_has(
    engine: docker.DockerClient,
) -> None:
    dead_token, live_token = "jan" + secrets.token_hex(3), "jan" + secrets.token_hex(3)
    # A run on another machine, and one on this machine whose process is gone.
    dead = _leave_like_a_run(engine, "elsewhere:1:1", dead_token)
    gone = _leave_like_a_run(engine, f"{socket.gethostname()}:999999999:1", dead_token + "x")
    live = _leave_like_a_run(engine, janitor.RUN, live_token)
    try:
        removed = janitor.sweep(engine)
        for kind, name in dead + gone:
            assert not _exists(engine, kind, name), f"{kind} {name} was left"
            assert f"{kind} {name}" in removed
        for kind, name in live:
            assert _exists(engine, kind, name), f"{kind} {name} of a live run was removed"
    finally:
        for kind, name in live:  # containers first: they hold the network
            if kind == "container":
                engine.containers.get(name).remove(force=True)
            elif kind != "image":
                getattr(engine, kind + "s").get(name).remove()
    # The run's end forgets the stack and removes the images it built, which destroy leaves.
    janitor.leave(engine, f"jhub-{live_token}-")
    assert _exists(engine, "image", f"jhub-{live_token}-hub:built"), "kept until the run's end"
    removed = janitor.finish(engine, [f"jhub-{live_token}-"])
    assert f"image jhub-{live_token}-hub:built" in removed
    assert not _exists(engine, "volume", janitor.LEDGER_PREFIX + f"jhub-{live_token}")
    for kind, name in live:
        if kind == "image":
            assert not _exists(engine, kind, name), f"{name} outlived leave()"
