"""Before the hub starts: every shared folder can be mounted on the Docker host.

Each folder is mounted into a throwaway container of the probe image, as a user's server will
mount it: a missing host directory, or a CIFS/NFS share the host's kernel cannot mount (no
client, wrong server, refused login), fails `up` here with the folder's config key, not later
in front of a user as a failed spawn. A stack-owned volume's top directory is handed to the
notebook user, so the writers can write (Docker creates it root-owned).
"""

import json
import os
import subprocess
import sys

folders = json.loads(os.environ["JHUB_SHARED"])  # [{"key", "kind", "type", "source", "describe", "owned"}]
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


problems = []
for folder in folders:
    docker("rm", "--force", probe_name)
    mount = f"type={folder['type']},source={folder['source']},target=/shared"
    script = f"chown {owner} /shared && chmod 0775 /shared" if folder["owned"] else "true"
    run = docker(
        "run", "--rm", "--name", probe_name, "--user", "0", "--mount", mount,
        "--entrypoint", "/bin/sh", probe_image, "-c", script,
    )  # fmt: skip
    if run.returncode != 0:
        reason = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}"
        hint = HINTS.get(folder["kind"], "check the folder's source")
        problems.append(
            f"{folder['key']}: the Docker host cannot mount {folder['describe']}: {reason}; {hint}"
        )

if problems:
    sys.exit("shared folders on dockerHost " + host + ":\n  " + "\n  ".join(problems))
print(f"{len(folders)} shared folder(s) mount on the Docker host")
