#!/bin/bash
# Host keys are made per container (a fresh host, a fresh key), then sshd and the engine start.
# With DOCKER_TLS_WAIT=1 the engine also listens on tcp://0.0.0.0:2376 with client TLS
# (--tlsverify): it waits for the test to place the certificates, which name the container's IP.
set -euo pipefail
ssh-keygen -A >/dev/null
mkdir -p /run/sshd
/usr/sbin/sshd
if [ "${DOCKER_TLS_WAIT:-}" = 1 ]; then
  while [ ! -s /certs/server-key.pem ]; do sleep 0.2; done
  exec dockerd --host unix:///var/run/docker.sock --host tcp://0.0.0.0:2376 --tlsverify \
    --tlscacert /certs/ca.pem --tlscert /certs/server-cert.pem --tlskey /certs/server-key.pem
fi
exec dockerd --host unix:///var/run/docker.sock
