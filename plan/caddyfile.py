"""The edge's Caddyfile, rendered from the validated TLS config."""

from __future__ import annotations

from config.stack import PublishConfig, TlsConfig

EDGE_HTTP_PORT = 80
EDGE_HTTPS_PORT = 443
CADDYFILE = "/etc/caddy/Caddyfile"
CERT_FILE = "/etc/caddy/tls/chain.pem"
KEY_FILE = "/etc/caddy/tls/key.pem"
ACME_ROOT_FILE = "/etc/caddy/acme-ca-root.pem"
# Caddy keeps certificates and the ACME account under $XDG_DATA_HOME; it is a volume, so a
# restarted or replaced edge serves the same certificate without a new order.
DATA_DIR = "/data"


def render_caddyfile(tls: TlsConfig, publish: PublishConfig, proxy_target: str) -> str:
    assert tls.domain is not None  # the config model guarantees a domain when TLS is on
    global_options = ["admin off", f"http_port {EDGE_HTTP_PORT}", f"https_port {EDGE_HTTPS_PORT}"]
    if tls.mode == "letsencrypt":
        # HTTP-01 only: Caddy would otherwise pick HTTP-01 or TLS-ALPN-01 at random per start.
        issuer = [f"cert_issuer acme {tls.acme_directory_url} {{", "\tdisable_tlsalpn_challenge"]
        if tls.acme_ca_root_file:
            issuer.append(f"\ttrusted_roots {ACME_ROOT_FILE}")
        global_options += [f"email {tls.email}", *issuer, "}"]
    # The self-signed certificate also names localhost, for a browser on the Docker host.
    site = tls.domain + (", localhost" if tls.mode == "self-signed" else "")
    https_suffix = "" if publish.https_port == 443 else f":{publish.https_port}"
    lines = ["{", *(f"\t{option}" for option in global_options), "}", ""]
    # An explicit redirect, so it names the published HTTPS port even when that is not 443.
    # (Caddy still answers ACME HTTP-01 challenges on this port before any route.)
    lines += [f"http://{tls.domain} {{", f"\tredir https://{{host}}{https_suffix}{{uri}} 308", "}", ""]
    lines += [f"{site} {{"]
    if tls.mode in ("self-signed", "manual"):
        lines.append(f"\ttls {CERT_FILE} {KEY_FILE}")
    lines += [
        # Deferred, so these replace what the hub or a server sent rather than doubling it.
        "\theader {",
        "\t\tdefer",
        '\t\tStrict-Transport-Security "max-age=31536000"',
        '\t\tX-Content-Type-Options "nosniff"',
        # URLs carry usernames and server names: other sites learn nothing of them.
        '\t\tReferrer-Policy "same-origin"',
        # Only where the response has none: JupyterHub and jupyter-server send their own
        # Content-Security-Policy frame-ancestors (which browsers prefer over this header), and
        # a site that allows embedding there must not be overruled. SAMEORIGIN keeps
        # JupyterLab's own same-origin frames working.
        '\t\t?X-Frame-Options "SAMEORIGIN"',
        "\t}",
        # Websockets (kernels) pass through reverse_proxy as they are.
        f"\treverse_proxy {proxy_target}",
        "}",
    ]
    return "\n".join(lines) + "\n"
