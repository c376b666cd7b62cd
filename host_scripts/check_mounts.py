"""Before the hub starts: every shared folder can be mounted on the Docker host.

Each folder is mounted into a throwaway container of the probe image, as a user's server will
mount it: a missing host directory, or a CIFS/NFS share the host's kernel cannot mount (no
client, wrong server, refused login), fails `up` here with the folder's config key, not later
in front of a user as a failed spawn. A stack-owned volume's top directory is handed to the
notebook user, so the writers can write (Docker creates it root-owned). A host directory's
symbolic links are followed on the Docker host, where Docker follows them to mount it: one that
leads into a system directory (hub/system_paths.py) fails `up` as that directory would at
preview.
"""

import json
import os
import re
import subprocess
import sys

# pulumi-command runs scripts with the project directory as working directory (`python3 -c`
# puts it first on sys.path): the rules are the ones preview and the Docker API proxy apply.
from hub.system_paths import host_path_refusal, resolved_host_path_problem

# [{"key", "kind", "type", "source", "describe", "owned", "seed", "seedDigest"}]
folders = json.loads(os.environ["JHUB_SHARED"])
probe_image = os.environ["JHUB_PROBE_IMAGE"]
probe_name = os.environ["JHUB_PROBE_NAME"]
owner = os.environ["JHUB_SHARED_OWNER"]
host = os.environ["DOCKER_HOST"]
engine_socket = os.environ["JHUB_ENGINE_SOCKET"]
# The Docker host's own root, read-only, where a host directory's links are resolved: chroot
# into it and ask the host's realpath, so an absolute link means what it means on the host.
HOST_ROOT = "/.docker-host"
UNRESOLVED = "jhub-unresolved"

HINTS = {
    "hostPath": "create the directory on the Docker host, or correct the path",
    "cifs": "the Docker host needs the kernel's CIFS client (cifs-utils) and must reach the server "
    "with these credentials",
    "nfs": "the Docker host needs the kernel's NFS client (nfs-common) and must be allowed by the export",
}


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True)


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    """The error's last line, with any password masked: Docker's mount errors quote the whole
    option string of a CIFS volume ("data: addr=...,password=...")."""
    text = result.stderr.strip()
    line = text.splitlines()[-1] if text else f"exit {result.returncode}"
    return re.sub(r"(password=)[^,\s]*", r"\1***", line)


problems = []
for folder in folders:
    docker("rm", "--force", probe_name)
    mount = f"type={folder['type']},source={folder['source']},target=/shared"
    seed = folder.get("seed")
    # Seeded files belong to the notebook user too; the top directory always does.
    owned = f"chown {'-R ' if seed else ''}{owner} /shared && chmod 0775 /shared"
    command, host_root = owned if folder["owned"] else "true", []
    if folder["kind"] == "hostPath":
        # Prints where the links lead, or a marker when the host or the probe image cannot say
        # (no realpath on the host, no chroot in the image): then the path is checked as written.
        command = f'chroot {HOST_ROOT} realpath -e -- "$0" 2>/dev/null || echo {UNRESOLVED}'
        host_root = ["--mount", f"type=bind,source=/,target={HOST_ROOT},readonly"]
    created = docker(
        "create", "--name", probe_name, "--user", "0", "--mount", mount, *host_root,
        "--entrypoint", "/bin/sh", probe_image, "-c", command, folder["source"],
    )  # fmt: skip
    if created.returncode != 0:
        sys.exit(f"dockerHost {host}: cannot create the mount probe from {probe_image}: {last_line(created)}")
    if seed:
        # `docker cp` into a created container writes into the volume mounted there, on any host.
        copied = docker("cp", os.path.join(seed, "."), f"{probe_name}:/shared")
        if copied.returncode != 0:
            docker("rm", "--force", probe_name)
            reason = last_line(copied)
            problems.append(f"{folder['key']}.source.volume.seed: copying {seed} in failed: {reason}")
            continue
        print(f"{folder['key']}: copied {seed} into {folder['source']}")
    started = docker("start", "--attach", probe_name)
    docker("rm", "--force", probe_name)
    if started.returncode != 0:
        hint = HINTS.get(folder["kind"], "check the folder's source")
        reason = last_line(started)
        what = folder["describe"]
        problems.append(f"{folder['key']}: the Docker host cannot mount {what}: {reason}; {hint}")
    elif folder["kind"] == "hostPath":
        key, source = folder["key"], folder["source"]
        real = started.stdout.strip().splitlines()[-1] if started.stdout.strip() else UNRESOLVED
        if real == UNRESOLVED:
            print(f"{key}: could not follow the links of {source} on the Docker host; checked as written")
            continue
        linked = resolved_host_path_problem(source, real, engine_socket)
        if linked is not None:
            problems.append(host_path_refusal(key, source, linked))

if problems:
    sys.exit("shared folders on dockerHost " + host + ":\n  " + "\n  ".join(problems))
print(f"{len(folders)} shared folder(s) mount on the Docker host")
