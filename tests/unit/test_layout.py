"""The folders are the pipeline (docs/explanation/architecture.md): config and plan never reach
for the resources, so everything they derive is plain data, checked before anything is
registered; and no folder of product code grows into one flat room again."""

from __future__ import annotations

import subprocess
import sys

from tests.deployers import PROJECT_DIR

# Every module of config/ and plan/, imported in a fresh interpreter, and what came with them.
PROBE = """
import importlib, pkgutil, sys
import config, plan
for package in (config, plan):
    for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in
    ("components", "pulumi_docker", "pulumi_command", "pulumi_random", "pulumi_tls"))))
"""
PRODUCT = ("components", "config", "plan", "host_scripts", "hub", "firewall", "ops")


def test_config_and_plan_import_no_component_and_no_provider() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []


def test_no_folder_of_product_code_holds_more_than_fifteen_modules() -> None:
    counts = {}
    for top in PRODUCT:
        for directory in [PROJECT_DIR / top, *(p for p in (PROJECT_DIR / top).rglob("*") if p.is_dir())]:
            modules = list(directory.glob("*.py"))
            if modules:
                counts[str(directory.relative_to(PROJECT_DIR))] = len(modules)
    assert counts["components"] > 5
    assert {folder: n for folder, n in counts.items() if n > 15} == {}
