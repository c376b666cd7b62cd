#!/bin/bash
# Host keys are made per container (a fresh host, a fresh key), then sshd and the engine start.
set -euo pipefail
ssh-keygen -A >/dev/null
mkdir -p /run/sshd
/usr/sbin/sshd
exec dockerd --host unix:///var/run/docker.sock
