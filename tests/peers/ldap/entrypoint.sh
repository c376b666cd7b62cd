#!/bin/bash
# Entry point of the LDAP test peer (see Dockerfile, peer.py).
#
# First start of a container: make a throwaway CA and a server certificate for $LDAP_HOSTNAME,
# write cn=config (suffix dc=example,dc=org, rootdn cn=admin,dc=example,dc=org, TLS, memberof),
# load seed.ldif through a temporary ldapi-only slapd (so the memberof overlay fills memberOf),
# then run slapd in the foreground on ldap:/// (StartTLS), ldaps:/// and ldapi:///.
# A restarted container keeps its certificates and data and only runs slapd again.
#
# Environment:
#   LDAP_HOSTNAME        name the server certificate is issued for (default ldap; localhost is
#                        always added)
#   LDAP_ADMIN_PASSWORD  password of cn=admin,dc=example,dc=org (default admin-secret)
#   LDAP_DEBUG_LEVEL     slapd -d level, logged to stderr (default stats: connections and
#                        operations; 0 for quiet)
set -euo pipefail

hostname=${LDAP_HOSTNAME:-ldap}
admin_password=${LDAP_ADMIN_PASSWORD:-admin-secret}
debug_level=${LDAP_DEBUG_LEVEL:-stats}
suffix='dc=example,dc=org'
admin_dn="cn=admin,$suffix"
seed=/usr/local/share/peer-ldap/seed.ldif
tls=/etc/ldap/tls
config_dir=/etc/ldap/slapd.d
marker=/etc/ldap/.peer-ldap-initialized
root_external='gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth'

log() { printf 'peer-ldap: %s\n' "$*" >&2; }

make_certificates() {
    if ! [[ $hostname =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]]; then
        log "LDAP_HOSTNAME is not a DNS name: $hostname"
        exit 2
    fi
    local work
    work=$(mktemp -d)
    # EC P-256 keys: made instantly, unlike RSA, and accepted by GnuTLS (slapd) and OpenSSL clients.
    openssl req -x509 -new -nodes -sha256 -days 3650 \
        -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$work/ca.key" -out "$work/ca.pem" \
        -subj "/O=peer-ldap/CN=peer-ldap throwaway CA" \
        -addext 'basicConstraints=critical,CA:TRUE' \
        -addext 'keyUsage=critical,keyCertSign,cRLSign' \
        -addext 'subjectKeyIdentifier=hash' 2>/dev/null
    openssl req -new -nodes -sha256 \
        -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$work/server.key" -out "$work/server.csr" \
        -subj "/O=peer-ldap/CN=$hostname" 2>/dev/null
    cat > "$work/server.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:$hostname, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
    openssl x509 -req -sha256 -days 825 -in "$work/server.csr" \
        -CA "$work/ca.pem" -CAkey "$work/ca.key" -set_serial "0x$(openssl rand -hex 12)" \
        -extfile "$work/server.ext" -out "$work/server.pem" 2>/dev/null
    install -d -m 0755 "$tls" /certs
    install -m 0644 "$work/ca.pem" "$tls/ca.pem"
    install -m 0644 "$work/server.pem" "$tls/server.pem"
    install -m 0640 -o root -g openldap "$work/server.key" "$tls/server.key"
    install -m 0644 "$work/ca.pem" /certs/ca.pem
    rm -rf "$work"  # the CA key goes: nothing else is ever signed with it
}

write_config() {
    local root_pw
    root_pw=$(slappasswd -h '{SSHA}' -s "$admin_password")
    rm -rf "$config_dir" /var/lib/ldap/*
    install -d -m 0750 -o openldap -g openldap "$config_dir" /var/lib/ldap
    install -d -m 0755 -o openldap -g openldap /var/run/slapd
    slapadd -n 0 -F "$config_dir" -l /dev/stdin <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcArgsFile: /var/run/slapd/slapd.args
olcPidFile: /var/run/slapd/slapd.pid
olcLogLevel: none
olcToolThreads: 1
olcTLSCACertificateFile: $tls/ca.pem
olcTLSCertificateFile: $tls/server.pem
olcTLSCertificateKeyFile: $tls/server.key
olcTLSProtocolMin: 3.3

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: {0}back_mdb
olcModuleLoad: {1}memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/nis.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500
olcAccess: {0}to * by dn.exact=$root_external manage by * break
olcAccess: {1}to dn.exact="" by * read
olcAccess: {2}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=$root_external manage by * break

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: /var/lib/ldap
olcDbMaxSize: 268435456
olcSuffix: $suffix
olcRootDN: $admin_dn
olcRootPW: $root_pw
olcLastMod: TRUE
olcDbIndex: objectClass eq
olcDbIndex: uid,cn,mail eq,sub
olcDbIndex: member,uniqueMember,memberUid eq
olcAccess: {0}to * by dn.exact=$root_external manage by * break
olcAccess: {1}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {2}to * by users read by anonymous auth

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfDangling: ignore
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf
EOF
    chown -R openldap:openldap "$config_dir" /var/lib/ldap
}

# Prints seed.ldif with each clear-text userPassword replaced by its {SSHA} hash.
hashed_seed() {
    local line
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ $line == 'userPassword: '* && $line != 'userPassword: {'* ]]; then
            printf 'userPassword: %s\n' "$(slappasswd -h '{SSHA}' -s "${line#userPassword: }")"
        else
            printf '%s\n' "$line"
        fi
    done < "$seed"
}

load_seed() {
    local pid tries=0
    slapd -d 0 -u openldap -g openldap -F "$config_dir" -h ldapi:/// 2>/dev/null &
    pid=$!
    until ldapwhoami -Q -Y EXTERNAL -H ldapi:/// >/dev/null 2>&1; do
        tries=$((tries + 1))
        if ((tries > 200)) || ! kill -0 "$pid" 2>/dev/null; then
            log 'temporary slapd did not come up'
            exit 1
        fi
        sleep 0.05
    done
    hashed_seed | ldapadd -Q -Y EXTERNAL -H ldapi:/// >/dev/null
    kill -TERM "$pid"
    wait "$pid" || true
}

if [[ ! -e $marker ]]; then
    started=$EPOCHREALTIME
    make_certificates
    write_config
    load_seed
    touch "$marker"
    log "initialised $suffix for $hostname in $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
fi

log 'starting slapd on ldap:/// (StartTLS), ldaps:/// and ldapi:///'
exec slapd -d "$debug_level" -u openldap -g openldap -F "$config_dir" -h 'ldap:/// ldaps:/// ldapi:///'
