#!/bin/bash
# Entry point of the Pebble test peer (see Dockerfile, peer.py).
#
# First start of a container: make a throwaway CA (the "directory CA", /certs/directory-ca.pem) and
# a certificate for $PEBBLE_HOSTNAME, localhost and 127.0.0.1 signed by it, which Pebble serves on
# both its ACME listener (:14000) and its management listener (:15000). A restarted container keeps
# that CA. Then run pebble in the foreground. Pebble itself makes a new issuance root and
# intermediate at every launch (GET https://<alias>:15000/roots/0 and /intermediates/0).
#
# Environment:
#   PEBBLE_HOSTNAME  the network alias clients use (default pebble)
#   PEBBLE_*         Pebble's own switches (defaults in the Dockerfile)
set -euo pipefail

hostname=${PEBBLE_HOSTNAME:-pebble}
tls=/etc/pebble/tls

log() { printf 'peer-pebble: %s\n' "$*" >&2; }

make_certificates() {
    if ! [[ $hostname =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
        log "PEBBLE_HOSTNAME is not a DNS name: $hostname"
        exit 2
    fi
    local work
    work=$(mktemp -d)
    # EC P-256 keys: made instantly, unlike RSA.
    openssl req -x509 -new -nodes -sha256 -days 3650 \
        -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$work/ca.key" -out "$work/ca.pem" \
        -subj "/O=peer-pebble/CN=peer-pebble directory CA" \
        -addext 'basicConstraints=critical,CA:TRUE' \
        -addext 'keyUsage=critical,keyCertSign,cRLSign' \
        -addext 'subjectKeyIdentifier=hash' 2>/dev/null
    openssl req -new -nodes -sha256 \
        -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$work/key.pem" -out "$work/server.csr" \
        -subj "/O=peer-pebble/CN=$hostname" 2>/dev/null
    cat > "$work/server.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:$hostname, DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EXT
    openssl x509 -req -sha256 -days 825 -in "$work/server.csr" \
        -CA "$work/ca.pem" -CAkey "$work/ca.key" -set_serial "0x$(openssl rand -hex 12)" \
        -extfile "$work/server.ext" -out "$work/cert.pem" 2>/dev/null
    install -d -m 0755 "$tls" /certs
    install -m 0644 "$work/cert.pem" "$tls/cert.pem"
    install -m 0600 "$work/key.pem" "$tls/key.pem"
    install -m 0644 "$work/ca.pem" /certs/directory-ca.pem
    rm -rf "$work"  # the CA key goes: nothing else is ever signed with it
}

if [[ ! -s /certs/directory-ca.pem || ! -s $tls/cert.pem || ! -s $tls/key.pem ]]; then
    make_certificates
    log "made the directory CA and a certificate for $hostname, localhost, 127.0.0.1"
fi

log "starting pebble: https://$hostname:14000/dir, management on :15000"
exec pebble -strict=false -config /etc/pebble/pebble-config.json
