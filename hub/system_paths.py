"""Paths no shared folder or home may use: on the Docker host (a bind's source) and in the
image (a mount's target).

The program refuses them at preview (config/shared.py, config/stack.py) and the
Docker API proxy refuses the same binds and targets in any create it is sent
(hub/api_proxy/container_policy.py, hub/api_proxy/service_policy.py), so a settings file written by hand, or a
program older than this rule, cannot hand users the host either.
"""

from __future__ import annotations

import posixpath

# The system's own directories, on any Linux file system: programs, libraries, users and
# sudoers (/etc), root's home and keys, the kernel's interfaces (/dev, /proc, /sys), sockets.
SYSTEM_DIRS = (
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/usr",
)
# On the Docker host: a bind of any of these, of a directory inside one, or of a directory that
# holds one gives a user server the host (the engine's socket in /run, /var/lib/docker's volumes
# and containers, /etc's users and sudoers, /root's keys, /dev's disks, /proc and /sys's kernel
# switches, the programs root runs from /usr, /bin, /sbin and /lib).
HOST_SYSTEM_DIRS = (*SYSTEM_DIRS, "/var/lib/containerd", "/var/lib/docker", "/var/run")
# In the image: a mount at one of these (or at a directory holding one) hides what the server
# runs on (its programs, libraries, users, Python in /opt/conda for the docker-stacks images),
# and it would not start. Mounts inside them (/etc/jupyter, /usr/local/share/data) are fine,
# except in the kernel's own file systems.
IMAGE_SYSTEM_DIRS = (*SYSTEM_DIRS, "/opt", "/opt/conda", "/usr/local", "/var")
IMAGE_KERNEL_DIRS = ("/dev", "/proc", "/sys")


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def host_path_problem(path: str, docker_socket: str) -> str | None:
    """Why `path` may not be bind-mounted from the Docker host into users' servers, or None.
    `docker_socket` is the engine's socket on that host."""
    normal = posixpath.normpath(path)
    if not posixpath.isabs(path) or normal == "/":
        return "is the host's root directory" if normal == "/" else "is not an absolute path"
    for system in HOST_SYSTEM_DIRS:
        if normal == system:
            return f"is {system}, a system directory of the Docker host"
        if _inside(normal, system):
            return f"is inside {system}, a system directory of the Docker host"
        if _inside(system, normal):
            return f"holds {system}, a system directory of the Docker host"
    # The socket's own directory, and every directory above it, hold the socket.
    socket = posixpath.normpath(docker_socket)
    if _inside(socket, normal):
        return f"is or holds the Docker engine's socket {socket}"
    return None


def resolved_host_path_problem(path: str, real: str, docker_socket: str) -> str | None:
    """Why `path`, which is `real` on the Docker host once its symbolic links are followed, may
    not be bind-mounted, or None. Docker mounts what the links lead to, so a link from a
    harmless-looking directory into /var/run hands out the host as /var/run itself would."""
    if posixpath.normpath(path) == posixpath.normpath(real):
        return None
    refused = host_path_problem(real, docker_socket)
    return None if refused is None else f"leads by a symbolic link to {real!r}, which {refused}"


def image_path_problem(path: str) -> str | None:
    """Why a mount at `path` inside users' servers would break or unmask them, or None."""
    normal = posixpath.normpath(path)
    if not posixpath.isabs(path):
        return "is not an absolute path"
    if normal == "/":
        return "is the image's root directory"
    for system in IMAGE_SYSTEM_DIRS:
        if normal == system:
            return f"is {system}, a system directory of the image"
        if _inside(system, normal):
            return f"would hide {system}, a system directory of the image"
    for kernel in IMAGE_KERNEL_DIRS:
        if _inside(normal, kernel):
            return f"is inside {kernel}, which the kernel provides"
    return None


def host_path_refusal(key: str, path: str, refused: str) -> str:
    """The message for shared folder `key` whose hostPath `path` is refused because it `refused`
    (a reason above), at preview and in `up`'s mount check."""
    socket_key = " (dockerHost / dockerSocket)" if "socket" in refused else ""
    return (
        f"{key}.source.hostPath: {path!r} {refused}{socket_key}; every user's server would mount it, "
        "which hands them the host. Share a directory made for it, e.g. /srv/course, or a volume: {}"
    )
