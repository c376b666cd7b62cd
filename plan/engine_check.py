"""Is the Docker engine there? Asked by the program itself, before the provider is configured.

pulumi-docker's provider pings the engine when it is configured, for unix:// and tcp:// hosts
(provider/hybrid.go `Configure` -> provider/image.go `configureDockerClient`), in a preview too,
and fails with "failed to connect to any docker daemon". The program asks first, so a person
reads what is wrong and what to do, with the config key. ssh:// hosts are not pinged by the
provider; their connection check (scripts/check_docker_host.py) explains their failures.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
from pathlib import Path

from config.stack import ConfigError, StackConfig, config_problem

_PING = b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"


def _answer(sock: socket.socket) -> str:
    sock.sendall(_PING)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data.decode(errors="replace").split("\r\n", 1)[0]


def _fail(host: str, reason: str) -> ConfigError:
    return config_problem("dockerHost", f"{host}: {reason}")


def _check_unix(host: str) -> None:
    path = host.removeprefix("unix://")
    if not Path(path).exists():
        raise _fail(
            host,
            f"no socket at {path}: is the Docker engine installed and running here? "
            "(or set jupyterhub-docker:dockerHost to the engine to deploy to)",
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        try:
            sock.connect(path)
            status = _answer(sock)
        except PermissionError:
            raise _fail(
                host,
                f"permission denied on {path}: the user running Pulumi may not use Docker (docker group)",
            ) from None
        except OSError as exc:
            raise _fail(host, f"the engine does not answer on {path} ({exc}): is dockerd running?") from None
    if " 200 " not in status + " ":
        raise _fail(host, f"{path} answered {status!r}, not a Docker engine's /_ping")


def _check_tcp(config: StackConfig) -> None:
    host = config.docker_host
    tls = config.docker_tls
    assert tls is not None  # the config model requires it for tcp://
    address, port = host.removeprefix("tcp://").rsplit(":", 1)
    context = ssl.create_default_context(cadata=tls.ca.get_secret_value())
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert.write_text(tls.cert.get_secret_value())
        key.write_text(tls.key.get_secret_value())
        key.chmod(0o600)
        try:
            context.load_cert_chain(cert, key)
        except ssl.SSLError as exc:
            raise config_problem(
                "dockerTls.cert", f"not a certificate matching dockerTls.key ({exc})"
            ) from None
    try:
        with (
            socket.create_connection((address, int(port)), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=address) as sock,
        ):
            status = _answer(sock)
    except ssl.SSLCertVerificationError as exc:
        raise _fail(
            host, f"the engine's certificate does not verify against dockerTls.ca ({exc.verify_message})"
        ) from None
    except ssl.SSLError as exc:
        raise _fail(host, f"TLS with the engine failed ({exc}); does it accept dockerTls.cert?") from None
    except OSError as exc:
        raise _fail(
            host, f"cannot be reached ({exc}): check the address and the port, and that the engine listens"
        ) from None
    if " 200 " not in status + " ":
        raise _fail(host, f"answered {status!r} to /_ping: the engine refused the client certificate?")


def check_engine(config: StackConfig) -> None:
    """Raise a ConfigError that says what is wrong when a unix:// or tcp:// engine cannot be used."""
    if config.docker_host.startswith("unix://"):
        _check_unix(config.docker_host)
    elif config.docker_host.startswith("tcp://"):
        _check_tcp(config)
