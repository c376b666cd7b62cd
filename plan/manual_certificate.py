"""Checks of a certificate chain and key given for `tls.mode: manual`, run at preview.

A wrong key, an expired certificate or one for another name would otherwise surface only as a
browser error after the deploy; here each is a config error naming the key.
"""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def load_chain(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode())


def _names(certificate: x509.Certificate) -> list[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(name) for name in san.get_values_for_type(x509.DNSName)] + [
        str(ip) for ip in san.get_values_for_type(x509.IPAddress)
    ]


def covers(certificate: x509.Certificate, domain: str) -> bool:
    """Whether the certificate's subjectAltName matches `domain` (one-label wildcards included)."""
    domain = domain.lower().rstrip(".")
    for name in _names(certificate):
        name = name.lower().rstrip(".")
        if name == domain:
            return True
        if name.startswith("*.") and "." in domain and domain.split(".", 1)[1] == name[2:]:
            return True
    try:
        return ipaddress.ip_address(domain) in {
            ipaddress.ip_address(n) for n in _names(certificate) if _is_ip(n)
        }
    except ValueError:
        return False


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def check_manual(chain_pem: str, key_pem: str, domain: str, now: datetime.datetime) -> list[str]:
    """Problems with a manual certificate, each naming the config key; empty when usable."""
    try:
        chain = load_chain(chain_pem)
    except ValueError:
        return ["tls.certificate: not a PEM certificate chain (expected -----BEGIN CERTIFICATE-----)"]
    try:
        key: PrivateKeyTypes = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        return ["tls.key: not an unencrypted PEM private key (expected -----BEGIN PRIVATE KEY-----)"]
    leaf = chain[0]
    problems = []
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != leaf.public_key().public_bytes(
        serialization.Encoding.DER, public
    ):
        problems.append("tls.key: does not match the first certificate of tls.certificate")
    if leaf.not_valid_after_utc <= now:
        problems.append(f"tls.certificate: expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    elif leaf.not_valid_before_utc > now:
        problems.append(f"tls.certificate: not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    if not covers(leaf, domain):
        named = ", ".join(_names(leaf)) or "nothing"
        problems.append(f"tls.certificate: does not cover tls.domain {domain!r} (it names {named})")
    return problems
