"""TCP ports carried over UNIX sockets, so that Chromium, in a network namespace of its own
(browser.py), reaches the ports a stack publishes on the host's loopback.

Why a namespace: Chromium fails every request under way with ERR_NETWORK_CHANGED whenever the
host's addresses change (crbug.com/41465264), and on a Docker host they change each time a
container or network comes or goes, the user's own server spawning included. In a namespace
with only its loopback, nothing changes. A UNIX socket is a file, and files cross namespaces:
on the host a listener per port accepts on `<dir>/<port>.sock` and connects to 127.0.0.1:<port>;
in the namespace `python -m tests.e2e.bridge <dir> <port>... -- <command>` listens on
127.0.0.1:<port>, connects to the socket, and runs the command (the browser) until it exits.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path


def _copy(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    with contextlib.suppress(OSError):
        target.shutdown(socket.SHUT_WR)  # pass the end of the stream on, as TCP does


def _relay(accepted: socket.socket, connect: Callable[[], socket.socket]) -> None:
    with accepted:
        try:
            peer = connect()
        except OSError:
            return  # the client sees its connection closed, as from a refused port
        with peer:
            back = threading.Thread(target=_copy, args=(peer, accepted), daemon=True)
            back.start()
            _copy(accepted, peer)
            back.join()


def _serve(listener: socket.socket, connect: Callable[[], socket.socket]) -> None:
    with contextlib.suppress(OSError):  # the listener closed: the bridge is done
        while True:
            accepted, _ = listener.accept()
            threading.Thread(target=_relay, args=(accepted, connect), daemon=True).start()


def _tcp(port: int) -> Callable[[], socket.socket]:
    return lambda: socket.create_connection(("127.0.0.1", port), timeout=30)


def _unix(path: Path) -> Callable[[], socket.socket]:
    def connect() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(path))
        return sock

    return connect


def _start(listener: socket.socket, connect: Callable[[], socket.socket]) -> None:
    listener.listen(64)
    threading.Thread(target=_serve, args=(listener, connect), daemon=True).start()


@contextlib.contextmanager
def host_side(folder: Path, ports: list[int]) -> Iterator[None]:
    """On the host: `<folder>/<port>.sock` leads to 127.0.0.1:<port>, for each port."""
    listeners = []
    try:
        for port in ports:
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(str(folder / f"{port}.sock"))
            listeners.append(listener)
            _start(listener, _tcp(port))
        yield
    finally:
        for listener in listeners:
            listener.close()


def main(argv: list[str]) -> int:
    """In the namespace: bring the loopback up, listen on each port, run the command."""
    split = argv.index("--")
    folder, ports, command = Path(argv[0]), [int(p) for p in argv[1:split]], argv[split + 1 :]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for port in ports:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        _start(listener, _unix(folder / f"{port}.sock"))
    # Playwright talks to Chromium over the pipes on descriptors 3 and 4 (--remote-debugging-pipe).
    inherited = tuple(fd for fd in (3, 4) if _is_open(fd))
    return subprocess.run(command, pass_fds=inherited, check=False).returncode


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
