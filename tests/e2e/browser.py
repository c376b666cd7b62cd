"""A participant's browser: Debian's Chromium (installed by scripts/test-env.sh), driven by
playwright, with a screenshot of every step kept under test-results/browser/<case>/."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
RESULTS = Path(__file__).resolve().parents[2] / "test-results" / "browser"

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


@contextmanager
def chromium(
    workdir: Path, *, hosts: dict[str, str] | None = None, ca_file: Path | None = None
) -> Iterator[BrowserContext]:
    """A headless Chromium with a fresh profile and HOME under `workdir`.

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
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(workdir / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=args,
            env={**os.environ, "HOME": str(home)},
            viewport={"width": 1280, "height": 800},
        )
        try:
            yield context
        finally:
            context.close()


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
