#!/usr/bin/env bash
# Prepares a Debian machine for the end-to-end tests, idempotently (`--quick`: step 4 only):
#   1. installs and starts the Docker engine when it is absent,
#   2. builds the local base images the test stacks build FROM (nothing can be pulled here),
#   3. installs the browser the browser test drives (Debian's Chromium),
#   4. creates the Python virtualenv with the program's and the tests' dependencies.
# Every step reuses what is already there, so running it twice costs seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
venv=${JHUB_VENV:-$here/.venv}
log() { printf '[test-env] %s\n' "$*" >&2; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

start_docker() {
  apt_install docker.io debootstrap ca-certificates openssh-client
  if docker info >/dev/null 2>&1; then return; fi
  log "starting dockerd"
  # Room for 256 bridge networks instead of the default pools' ~30: the suite holds a dozen
  # stacks and peers at once, and a run killed midway leaves its networks until the next run's
  # janitor (tests/janitor.py) removes them. The engine skips ranges the host already routes.
  nohup dockerd --default-address-pool base=10.213.0.0/16,size=24 >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    sleep 1
  done
  log "dockerd did not start; see /var/log/dockerd.log"
  tail -20 /var/log/dockerd.log >&2
  exit 1
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# A minimal Debian root filesystem imported as an image: the root of every test image. Slimmed
# as Debian's official `-slim` images are (debuerreotype: no docs, man pages or translations, and
# apt keeps no package archives or caches), which the upstream images the stand-ins below replace
# are built on. Without it, every image here carried ~150 MB of apt archives and lists that each
# push, `docker save | load` into a nested engine, and pull by a Swarm node moved for nothing.
BASE_VERSION=2
build_debian_base() {
  local have
  have=$(docker image inspect -f '{{ index .Config.Labels "org.jupyterhub-docker.test-image" }}' local/debian:bookworm 2>/dev/null || true)
  [ "$have" = "debian-base-$BASE_VERSION" ] && return
  log "debootstrap bookworm -> local/debian:bookworm"
  local rootfs
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
DPKG
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  tar -C "$rootfs" -c . | docker import -c "LABEL org.jupyterhub-docker.test-image=debian-base-$BASE_VERSION" \
    - local/debian:bookworm >/dev/null
  rm -rf "$rootfs"
}

# Stand-ins for the upstream images the program defaults to (python:3.12-slim-bookworm, Caddy,
# the registry), built from Debian packages. Each carries the hash of its Dockerfile and of the
# base's ID, so an image left on the machine by an older checkout, or built on an older base, is
# rebuilt.
build_image() {
  local tag=$1 dockerfile=$2 want have
  want=$({ cat "$here/tests/images/$dockerfile"; docker image inspect -f '{{.Id}}' local/debian:bookworm; } \
    | sha256sum | cut -c1-16)
  have=$(docker image inspect -f '{{ index .Config.Labels "org.jupyterhub-docker.test-image" }}' "$tag" 2>/dev/null || true)
  [ "$have" = "$want" ] && return
  log "building $tag"
  docker build -q -t "$tag" --label "org.jupyterhub-docker.test-image=$want" \
    -f "$here/tests/images/$dockerfile" "$here/tests/images" >/dev/null
}

# The proxy's stand-in (tests/images/chp.Dockerfile): configurable-http-proxy from the npm
# registry at the version of the program's default proxy image (config/stack.py), on this
# machine's Node.js. Its label holds the Dockerfile's, the base's, node's and the package's
# identities, so a new default version or a new Node.js rebuilds it.
build_proxy_image() {
  local tag=local/configurable-http-proxy:bookworm version node want have context
  version=$(sed -n 's|.*"quay.io/jupyterhub/configurable-http-proxy:\([0-9][0-9.]*\)".*|\1|p' "$here/config/stack.py")
  if [ -z "$version" ]; then
    log "no configurable-http-proxy version in config/stack.py's default proxy image"
    exit 1
  fi
  node=$(command -v node || true)
  if [ -z "$node" ]; then
    log "no 'node' on PATH: the proxy's test image runs configurable-http-proxy $version on it"
    exit 1
  fi
  want=$({ cat "$here/tests/images/chp.Dockerfile"; docker image inspect -f '{{.Id}}' local/debian:bookworm
    sha256sum "$node"; echo "$version"; } | sha256sum | cut -c1-16)
  have=$(docker image inspect -f '{{ index .Config.Labels "org.jupyterhub-docker.test-image" }}' "$tag" 2>/dev/null || true)
  [ "$have" = "$want" ] && return
  log "building $tag (configurable-http-proxy $version on node $("$node" --version))"
  context=$(mktemp -d)
  cp "$node" "$context/node"
  mkdir "$context/chp"
  (cd "$context/chp" && npm install --omit=dev --no-audit --no-fund --loglevel=error \
    "configurable-http-proxy@$version" >/dev/null)
  docker build -q -t "$tag" --label "org.jupyterhub-docker.test-image=$want" \
    -f "$here/tests/images/chp.Dockerfile" "$context" >/dev/null
  rm -rf "$context"
}

# Extra CA certificates the image builds must trust (a TLS-intercepting egress proxy here);
# passed to the test stacks as images.caCertificatesFile, the same option real sites use.
gather_extra_cas() {
  mkdir -p "$here/.cache"
  cat /usr/local/share/ca-certificates/*.crt >"$here/.cache/extra-ca.pem" 2>/dev/null || : >"$here/.cache/extra-ca.pem"
}

# The browser test (tests/e2e/test_browser.py) drives Debian's Chromium through playwright, whose
# PyPI wheel bundles only its driver: no browser download (nothing but the Debian mirror and PyPI
# is reachable here). Liberation fonts render the pages' text in the screenshots (the package
# brings only fontconfig); certutil (libnss3-tools) makes the NSS database through which
# Chromium trusts a TLS test stack's own CA; `ip` (iproute2) brings up the loopback of the
# network namespace the browser runs in (tests/e2e/bridge.py).
install_browser() {
  apt_install chromium fonts-liberation libnss3-tools iproute2
}

make_venv() {
  if [ ! -x "$venv/bin/python" ]; then
    log "creating virtualenv $venv"
    python3 -m venv "$venv"
  fi
  local stamp="$venv/.requirements.sha256"
  local want
  # requirements-dev.txt includes hub/requirements.txt (-r): a change there reinstalls too.
  want=$(cat "$here/requirements.txt" "$here/requirements-dev.txt" "$here/hub/requirements.txt" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python requirements"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" -r "$here/requirements-dev.txt" 2>&1 \
      | { grep -v "^WARNING: Location" || true; }
    echo "$want" >"$stamp"
  fi
}

# The API proxy's differential test builds tests/engine_decoder (the engine's own decoder) with
# Go and the Go module proxy; the project's machines have Go (1.26), Debian's golang-go (1.19)
# is too old for its go.mod.
need_go() {
  if ! command -v go >/dev/null 2>&1; then
    log "no 'go' on PATH: tests/unit/test_api_proxy_differential.py needs Go 1.22 or newer"
    exit 1
  fi
}

need_go
if [ "${1:-}" = "--quick" ]; then
  # The quick tier (lint, types, unit tests): Python only; no engine, images or browser.
  make_venv
  log "ready (quick tier)"
  exit 0
fi

start_docker
build_debian_base
build_image local/python:3.11-bookworm python.Dockerfile
build_proxy_image
build_image local/caddy:bookworm caddy.Dockerfile
build_image local/registry:bookworm registry.Dockerfile
gather_extra_cas
install_browser
make_venv
log "ready"
