"""Before the hub starts: every shared folder can be mounted on the Docker host.

Each folder is mounted into a throwaway container of the probe image, as a user's server will
mount it: a missing host directory, or a CIFS/NFS share the host's kernel cannot mount (no
client, wrong server, refused login), fails `up` here with the folder's config key, not later
in front of a user as a failed spawn. A stack-owned volume's top directory is handed to the
notebook user, so the writers can write (Docker creates it root-owned).
"""

import json
import os
import re
import subprocess
import sys

# [{"key", "kind", "type", "source", "describe", "owned", "seed", "seedDigest"}]
folders = json.loads(os.environ["JHUB_SHARED"])
probe_image = os.environ["JHUB_PROBE_IMAGE"]
probe_name = os.environ["JHUB_PROBE_NAME"]
owner = os.environ["JHUB_SHARED_OWNER"]
host = os.environ["DOCKER_HOST"]

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
    created = docker(
        "create", "--name", probe_name, "--user", "0", "--mount", mount,
        "--entrypoint", "/bin/sh", probe_image, "-c", owned if folder["owned"] else "true",
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

if problems:
    sys.exit("shared folders on dockerHost " + host + ":\n  " + "\n  ".join(problems))
print(f"{len(folders)} shared folder(s) mount on the Docker host")
