# Test stand-in for the upstream registry image: Debian's Distribution 2.8, with the binary
# under the upstream name so the program's command (`registry serve <config>`) runs on both,
# and wget for the healthcheck (the upstream image is Alpine, with busybox's wget).
FROM local/debian:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-registry wget \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/docker-registry /usr/local/bin/registry
