"""Bad TLS config fails at preview with the key named; manual certificates are checked."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from config.stack import ConfigError, StackConfig, parse_stack_config
from plan.caddyfile import render_caddyfile

AUTH: dict[str, Any] = {"type": "native", "allowAll": True}


def problems(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        parse_stack_config({"auth": AUTH, **raw}, {"tls"})
    return str(error.value)


def certificate(
    domain: str, *, days: int = 30, start_days_ago: int = 1, key: ec.EllipticCurvePrivateKey | None = None
) -> tuple[str, str]:
    """A self-signed leaf for `domain` and its key, as PEM."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=start_days_ago))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(pem).decode(), key_pem.decode()


def manual(domain: str, cert: str, key: str) -> dict[str, Any]:
    return {"tls": {"mode": "manual", "domain": domain, "certificate": cert, "key": key}}


def test_a_valid_manual_certificate_is_accepted() -> None:
    cert, key = certificate("hub.example.org")
    config = parse_stack_config({"auth": AUTH, **manual("hub.example.org", cert, key)}, {"tls"})
    assert config.tls.mode == "manual"
    assert config.publish.http_port(config.tls) == 80 and config.publish.https_port == 443


def test_a_wildcard_certificate_covers_a_subdomain() -> None:
    cert, key = certificate("*.example.org")
    assert parse_stack_config({"auth": AUTH, **manual("hub.example.org", cert, key)}, {"tls"}).tls.domain


def test_a_manual_certificate_that_is_not_pem_is_refused() -> None:
    _, key = certificate("hub.example.org")
    assert "tls.certificate: not a PEM certificate chain" in problems(manual("hub.example.org", "junk", key))


def test_a_key_that_is_not_pem_is_refused() -> None:
    cert, _ = certificate("hub.example.org")
    assert "tls.key: not an unencrypted PEM private key" in problems(manual("hub.example.org", cert, "junk"))


def test_a_key_that_does_not_match_the_certificate_is_refused() -> None:
    cert, _ = certificate("hub.example.org")
    _, other_key = certificate("hub.example.org")
    assert "tls.key: does not match the first certificate" in problems(
        manual("hub.example.org", cert, other_key)
    )


def test_an_expired_certificate_is_refused() -> None:
    cert, key = certificate("hub.example.org", days=-1, start_days_ago=10)
    assert "tls.certificate: expired on" in problems(manual("hub.example.org", cert, key))


def test_a_certificate_for_another_name_is_refused() -> None:
    cert, key = certificate("other.example.org")
    message = problems(manual("hub.example.org", cert, key))
    assert (
        "tls.certificate: does not cover tls.domain 'hub.example.org' (it names other.example.org)" in message
    )


def test_a_manual_key_in_plain_text_is_refused() -> None:
    cert, key = certificate("hub.example.org")
    with pytest.raises(ConfigError, match=r"tls\.key: stored in plain text"):
        parse_stack_config({"auth": AUTH, **manual("hub.example.org", cert, key)}, set())


def test_tls_modes_need_a_domain() -> None:
    assert "tls.domain: missing; tls.mode self-signed needs" in problems({"tls": {"mode": "self-signed"}})
    assert "tls.domain: 'not a name' is not a DNS name" in problems(
        {"tls": {"mode": "self-signed", "domain": "not a name"}}
    )


def test_letsencrypt_needs_an_email_and_an_https_directory() -> None:
    assert "tls.email:" in problems({"tls": {"mode": "letsencrypt", "domain": "hub.example.org"}})
    message = problems(
        {
            "tls": {
                "mode": "letsencrypt",
                "domain": "hub.example.org",
                "email": "a@b.org",
                "acmeDirectory": "http://x",
            }
        }
    )
    assert "tls.acmeDirectory: 'http://x' is not production, staging or an https:// URL" in message


def test_manual_settings_are_refused_outside_manual_mode() -> None:
    cert, key = certificate("hub.example.org")
    message = problems(
        {"tls": {"mode": "self-signed", "domain": "hub.example.org", "certificate": cert, "key": key}}
    )
    assert "only used with tls.mode: manual" in message


def test_the_same_port_for_http_and_https_is_refused() -> None:
    message = problems(
        {
            "tls": {"mode": "self-signed", "domain": "h.example.org"},
            "publish": {"port": 8443, "httpsPort": 8443},
        }
    )
    assert "publish.port and publish.httpsPort both publish port 8443 on the Docker host" in message


def test_the_letsencrypt_caddyfile_names_the_acme_ca_and_redirects() -> None:
    config = StackConfig.model_validate(
        {
            "auth": AUTH,
            "tls": {
                "mode": "letsencrypt",
                "domain": "hub.example.org",
                "email": "ops@example.org",
                "acmeDirectory": "staging",
            },
        }
    )
    caddyfile = render_caddyfile(config.tls, config.publish, "jhub-x-proxy:8000")
    assert "cert_issuer acme https://acme-staging-v02.api.letsencrypt.org/directory {" in caddyfile
    assert "disable_tlsalpn_challenge" in caddyfile, "HTTP-01 only"
    assert "email ops@example.org" in caddyfile
    assert "redir https://{host}{uri} 308" in caddyfile
    assert "reverse_proxy jhub-x-proxy:8000" in caddyfile
    assert "tls /etc/caddy" not in caddyfile
