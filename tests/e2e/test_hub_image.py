"""The hub image holds the hub package whole: every module of the checkout's `hub/` imports
inside the built image, the configuration file is where JupyterHub is told to read it, and the
build's own files stay out of the package."""

from __future__ import annotations

import json

import docker

from config.stack import ImagesConfig
from plan.build import common_build_args, context_hash
from tests.deployers import PROJECT_DIR, extra_ca_file
from tests.e2e.conftest import TEST_IMAGES

HUB = PROJECT_DIR / "hub"
# Imports each module of the package and its subpackages as found in the image (the culler's
# config file, which the culler loads by its path, as traitlets loads it), and lists what else
# is at the top.
PROBE = """
import importlib, json, os, pkgutil, hub
from traitlets.config.loader import PyFileConfigLoader
names = sorted(m.name for m in pkgutil.walk_packages(hub.__path__, "hub."))
for name in names:
    if name == "hub.culler.culler_config":
        PyFileConfigLoader("culler_config.py", os.path.join(hub.__path__[0], "culler")).load_config()
    else:
        importlib.import_module(name)
print(json.dumps({
    "modules": names,
    "files": sorted(os.listdir(hub.__path__[0])),
    "config": os.path.isfile("/etc/jupyterhub/jupyterhub_config.py"),
}))
"""


def checkout_modules() -> list[str]:
    """hub.<module> and hub.<package>[.<module>] for every file of the checkout's hub/ but the
    config file, which the image moves out of the package."""
    names = []
    for path in HUB.rglob("*.py"):
        parts = path.relative_to(HUB).with_suffix("").parts
        if parts == ("jupyterhub_config",) or parts == ("__init__",):
            continue
        names.append(".".join(("hub", *parts[:-1])) if parts[-1] == "__init__" else ".".join(("hub", *parts)))
    return sorted(names)


def test_every_hub_module_of_the_checkout_imports_in_the_built_hub_image(engine: docker.DockerClient) -> None:
    ca = extra_ca_file()
    images = ImagesConfig(base=TEST_IMAGES["base"], ca_certificates_file=str(ca) if ca else None)
    args = common_build_args(images, PROJECT_DIR)
    # The stacks' own tag scheme: the build after a stack's is the engine's cache.
    tag = f"jhub-test-hub-image:{context_hash(HUB, 'Dockerfile', args)}"
    engine.images.build(path=str(HUB), tag=tag, buildargs=args, rm=True)
    try:
        output = engine.containers.run(tag, ["python", "-c", PROBE], remove=True)
    finally:
        engine.images.remove(tag, force=True)
    found = json.loads(output.decode().strip().splitlines()[-1])
    assert found["modules"] == checkout_modules()
    assert "hub.spawners.throughput" in found["modules"]
    assert found["config"] is True
    build_files = {"Dockerfile", "requirements.txt", "jupyterhub_config.py", ".dockerignore"}
    assert not build_files & set(found["files"])
    assert "templates" in found["files"]
