"""The hub image holds the hub package whole: every module of the checkout's `hub/` imports
inside the built image, the configuration file is where JupyterHub is told to read it, and the
build's own files stay out of the package."""

from __future__ import annotations

import json

import docker

from components.config import ImagesConfig
from components.images import common_build_args, context_hash
from tests.deployers import PROJECT_DIR, extra_ca_file
from tests.e2e.conftest import TEST_IMAGES

HUB = PROJECT_DIR / "hub"
# Imports each module of the package as found in the image (the culler's config file, which
# the culler loads by its path, as traitlets loads it), and lists what else is there.
PROBE = """
import importlib, json, os, pkgutil, hub
from traitlets.config.loader import PyFileConfigLoader
names = sorted(m.name for m in pkgutil.iter_modules(hub.__path__))
for name in names:
    if name == "culler_config":
        PyFileConfigLoader("culler_config.py", hub.__path__[0]).load_config()
    else:
        importlib.import_module("hub." + name)
print(json.dumps({
    "modules": names,
    "files": sorted(os.listdir(hub.__path__[0])),
    "config": os.path.isfile("/etc/jupyterhub/jupyterhub_config.py"),
}))
"""


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
    expected = sorted(p.stem for p in HUB.glob("*.py") if p.stem not in ("__init__", "jupyterhub_config"))
    assert found["modules"] == expected
    assert found["config"] is True
    build_files = {"Dockerfile", "requirements.txt", "jupyterhub_config.py", ".dockerignore"}
    assert not build_files & set(found["files"])
    assert "templates" in found["files"]
