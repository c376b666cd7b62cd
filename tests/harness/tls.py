"""pulumi-tls resources executed for real with `cryptography`: keys, CA, CSR, signed cert.

Outputs carry the names pulumi-tls gives them (privateKeyPem, certPem, certRequestPem...). Every
input replaces (hashicorp/terraform-provider-tls: all attributes `RequiresReplace`).
LocallySignedCert honours earlyRenewalHours like the provider: its plan modifier marks a
certificate within that many hours of expiry `ready_for_renewal`, which replaces it on the next
plan, without a refresh (internal/provider/resource_locally_signed_cert.go, `ModifyPlan`).
"""

from __future__ import annotations

import datetime
import ipaddress
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .resource import ALL, Context, Diff, Handler
from .state import Record
from .values import HarnessError

SUBJECT = {"commonName": str, "organization": str, "organizationalUnit": str, "country": str}
_KEY_USAGE = {
    "digital_signature",
    "key_encipherment",
    "cert_signing",
    "crl_signing",
    "content_commitment",
    "key_agreement",
    "data_encipherment",
}
_EXTENDED = {"server_auth": ExtendedKeyUsageOID.SERVER_AUTH, "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH}


def _name(subject: dict[str, str] | None) -> x509.Name:
    oids = {
        "commonName": NameOID.COMMON_NAME,
        "organization": NameOID.ORGANIZATION_NAME,
        "organizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
        "country": NameOID.COUNTRY_NAME,
    }
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in (subject or {}).items()])


def _load_key(pem: str) -> CertificateIssuerPrivateKeyTypes:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise HarnessError("only ECDSA and RSA keys are implemented")
    return key


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _sign(
    subject: x509.Name,
    public_key: Any,
    issuer: x509.Name,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    inputs: dict[str, Any],
    san: list[x509.GeneralName],
) -> x509.Certificate:
    uses = set(inputs.get("allowedUses") or [])
    unknown = uses - _KEY_USAGE - set(_EXTENDED)
    if unknown:
        raise HarnessError(f"allowedUses {sorted(unknown)} are not implemented by the harness")
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(hours=int(inputs["validityPeriodHours"])))
        .add_extension(
            x509.BasicConstraints(ca=bool(inputs.get("isCaCertificate")), path_length=None), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature="digital_signature" in uses,
                content_commitment="content_commitment" in uses,
                key_encipherment="key_encipherment" in uses,
                data_encipherment="data_encipherment" in uses,
                key_agreement="key_agreement" in uses,
                key_cert_sign="cert_signing" in uses,
                crl_sign="crl_signing" in uses,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    extended = [_EXTENDED[u] for u in sorted(uses & set(_EXTENDED))]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _san(inputs: dict[str, Any]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in inputs.get("dnsNames") or []]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in inputs.get("ipAddresses") or []]
    return names


class PrivateKey(Handler):
    type = "tls:index/privateKey:PrivateKey"
    schema = {"algorithm": str, "ecdsaCurve": str, "rsaBits": int}
    force_new = ALL
    computed = ("privateKeyPem", "publicKeyPem")

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        algorithm = inputs.get("algorithm", "RSA")
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
        if algorithm == "ECDSA":
            curves = {
                "P224": ec.SECP224R1(),
                "P256": ec.SECP256R1(),
                "P384": ec.SECP384R1(),
                "P521": ec.SECP521R1(),
            }
            key = ec.generate_private_key(curves[inputs.get("ecdsaCurve", "P224")])
        elif algorithm == "RSA":
            key = rsa.generate_private_key(public_exponent=65537, key_size=int(inputs.get("rsaBits", 2048)))
        else:
            raise HarnessError(f"private key algorithm {algorithm} is not implemented by the harness")
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        return name, {**inputs, "privateKeyPem": private, "publicKeyPem": public}


class SelfSignedCert(Handler):
    type = "tls:index/selfSignedCert:SelfSignedCert"
    schema = {
        "privateKeyPem": str,
        "subject": SUBJECT,
        "validityPeriodHours": int,
        "isCaCertificate": bool,
        "allowedUses": [str],
        "dnsNames": [str],
        "ipAddresses": [str],
    }
    force_new = ALL
    computed = ("certPem", "validityStartTime", "validityEndTime")

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        key = _load_key(inputs["privateKeyPem"])
        subject = _name(inputs.get("subject"))
        cert = _sign(subject, key.public_key(), subject, key, inputs, _san(inputs))
        return str(cert.serial_number), {**inputs, "certPem": _pem(cert)}


class CertRequest(Handler):
    type = "tls:index/certRequest:CertRequest"
    schema = {"privateKeyPem": str, "subject": SUBJECT, "dnsNames": [str], "ipAddresses": [str]}
    force_new = ALL
    computed = ("certRequestPem",)

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        key = _load_key(inputs["privateKeyPem"])
        builder = x509.CertificateSigningRequestBuilder().subject_name(_name(inputs.get("subject")))
        san = _san(inputs)
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        csr = builder.sign(key, hashes.SHA256())
        return name, {**inputs, "certRequestPem": csr.public_bytes(serialization.Encoding.PEM).decode()}


class LocallySignedCert(Handler):
    type = "tls:index/locallySignedCert:LocallySignedCert"
    schema = {
        "certRequestPem": str,
        "caPrivateKeyPem": str,
        "caCertPem": str,
        "validityPeriodHours": int,
        "earlyRenewalHours": int,
        "isCaCertificate": bool,
        "allowedUses": [str],
    }
    # Every input replaces but earlyRenewalHours, which is updated in place
    # (terraform-provider-tls resource_locally_signed_cert.go).
    force_new = frozenset(
        {
            "certRequestPem",
            "caPrivateKeyPem",
            "caCertPem",
            "validityPeriodHours",
            "isCaCertificate",
            "allowedUses",
        }
    )
    computed = ("certPem", "validityStartTime", "validityEndTime", "readyForRenewal")

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        csr = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
        ca = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
        ca_key = _load_key(inputs["caPrivateKeyPem"])
        try:
            san = list(csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            san = []
        cert = _sign(csr.subject, csr.public_key(), ca.subject, ca_key, inputs, san)
        return str(cert.serial_number), {**inputs, "certPem": _pem(cert)}

    def diff(self, old: Record, new: dict[str, Any], **kwargs: Any) -> Diff:
        found = super().diff(old, new, **kwargs)
        pem = old.outputs.get("certPem")
        if (
            pem
            and not found.replace
            and self.ready_for_renewal(pem, int(old.inputs.get("earlyRenewalHours", 0)))
        ):
            return Diff(
                (*found.changed, "readyForRenewal"), ("readyForRenewal",), found.delete_before_replace
            )
        return found

    @staticmethod
    def ready_for_renewal(pem: str, early_renewal_hours: int) -> bool:
        cert = x509.load_pem_x509_certificate(pem.encode())
        renew_at = cert.not_valid_after_utc - datetime.timedelta(hours=early_renewal_hours)
        return datetime.datetime.now(datetime.UTC) >= renew_at


HANDLERS = (PrivateKey(), SelfSignedCert(), CertRequest(), LocallySignedCert())
