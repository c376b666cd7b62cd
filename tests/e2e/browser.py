"""A participant's browser: Debian's Chromium (installed by scripts/test-env.sh), driven by
playwright, with a screenshot of every step kept under test-results/browser/<case>/."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Request, sync_playwright

from tests.e2e import bridge

CHROMIUM = "/usr/bin/chromium"
PROJECT = Path(__file__).resolve().parents[2]
RESULTS = PROJECT / "test-results" / "browser"

# Chromium runs as root here (needs --no-sandbox) on a machine whose network is closed: without
# the background-networking flags it dials Google's services at start and logs refusals; QUIC
# and the proxy are off so every request is the plain TCP one the stack's ports publish.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-proxy-server",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def trust(home: Path, ca_file: Path) -> None:
    """Trust `ca_file` as a root in the NSS database Chromium on Linux reads from
    $HOME/.pki/nssdb, a fresh one in the browser's own HOME: the browser verifies the edge's
    certificate for real, no certificate error is ignored."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    db = f"sql:{nssdb}"
    subprocess.run(["certutil", "-d", db, "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(
        ["certutil", "-d", db, "-A", "-n", "stack CA", "-t", "C,,", "-i", str(ca_file)],
        check=True,
        capture_output=True,
    )


def namespaced(workdir: Path, sockets: Path, ports: list[int]) -> Path:
    """A launcher that runs Chromium in a network namespace of its own, its loopback's `ports`
    carried to the host's (bridge.py says why)."""
    launcher = workdir / "chromium-in-namespace"
    bridge_command = [sys.executable, "-m", "tests.e2e.bridge", str(sockets), *map(str, ports), "--"]
    launcher.write_text(f'#!/bin/sh\nexec unshare --net {shlex.join(bridge_command)} {CHROMIUM} "$@"\n')
    launcher.chmod(0o755)
    return launcher


@contextmanager
def chromium(
    workdir: Path,
    ports: list[int],
    *,
    hosts: dict[str, str] | None = None,
    ca_file: Path | None = None,
) -> Iterator[BrowserContext]:
    """A headless Chromium with a fresh profile and HOME under `workdir`, reaching only the
    host's loopback `ports`.

    `hosts` maps names to addresses inside the browser only (like names.py for requests): the
    URL keeps the domain, so SNI, the Host header and certificate checks see it.
    """
    home = workdir / "home"
    home.mkdir(parents=True)
    if ca_file is not None:
        trust(home, ca_file)
    args = list(FLAGS)
    if hosts:
        args.append("--host-resolver-rules=" + ", ".join(f"MAP {name} {ip}" for name, ip in hosts.items()))
    # A short folder: a UNIX socket's path must fit in 108 bytes.
    sockets = Path(tempfile.mkdtemp(prefix="jhub-browser-"))
    try:
        with bridge.host_side(sockets, ports), sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(workdir / "profile"),
                executable_path=str(namespaced(workdir, sockets, ports)),
                headless=True,
                args=args,
                env={**os.environ, "HOME": str(home), "PYTHONPATH": str(PROJECT)},
                viewport={"width": 1280, "height": 800},
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


class Screenshots:
    """Numbered screenshots of one case, test-results/browser/<case>/<NN-step>.png; the folder is
    emptied first, so it shows this run only."""

    def __init__(self, page: Page, case: str) -> None:
        self.page = page
        self.folder = RESULTS / case
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.taken = 0

    def take(self, step: str) -> Path:
        self.taken += 1
        path = self.folder / f"{self.taken:02d}-{step}.png"
        self.page.screenshot(path=path)
        return path


class FailedRequests:
    """The page's failed requests, as Chromium names their errors: what a screenshot cannot
    show (a script that never arrived leaves JupyterLab a white page). Without the query
    string, which may carry a token."""

    def __init__(self, page: Page) -> None:
        self.requests: list[str] = []
        page.on("requestfailed", self._failed)

    def _failed(self, request: Request) -> None:
        self.requests.append(f"{request.method} {request.url.split('?')[0]}: {request.failure}")
