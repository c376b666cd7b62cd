"""A private CA and a server certificate for `tls.mode: self-signed`, as pulumi-tls resources.

Generated once and kept (encrypted) in the state: the same certificate is served after every
`pulumi up` until it nears expiry, and the CA certificate is a stack output users can trust.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components.docker_inputs import as_secret
from plan.naming import StackNames

CA_VALIDITY_HOURS = 24 * 365 * 10
# Browsers refuse server certificates valid for more than 398 days.
CERT_VALIDITY_HOURS = 24 * 397
# Within 30 days of expiry, the next `pulumi up` issues a new server certificate.
CERT_EARLY_RENEWAL_HOURS = 24 * 30


@dataclass(frozen=True)
class SelfSignedCertificateArgs:
    names: StackNames
    domain: str


class SelfSignedCertificate(pulumi.ComponentResource):
    ca_cert_pem: pulumi.Output[str]
    chain_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]

    def __init__(
        self, name: str, args: SelfSignedCertificateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("jupyterhub-docker:index:SelfSignedCertificate", name, None, opts)
        names, domain = args.names, args.domain
        child = pulumi.ResourceOptions(parent=self)
        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        ca = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            validity_period_hours=CA_VALIDITY_HOURS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"jupyterhub-docker {names.project}/{names.stack} CA",
                organization="jupyterhub-docker",
            ),
            opts=child,
        )
        key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child)
        request = tls.CertRequest(
            f"{name}-request",
            private_key_pem=key.private_key_pem,
            subject=tls.CertRequestSubjectArgs(common_name=domain),
            dns_names=[domain, "localhost"],
            opts=child,
        )
        cert = tls.LocallySignedCert(
            f"{name}-cert",
            cert_request_pem=request.cert_request_pem,
            ca_private_key_pem=ca_key.private_key_pem,
            ca_cert_pem=ca.cert_pem,
            validity_period_hours=CERT_VALIDITY_HOURS,
            early_renewal_hours=CERT_EARLY_RENEWAL_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            opts=child,
        )
        self.ca_cert_pem = ca.cert_pem
        self.chain_pem = pulumi.Output.concat(cert.cert_pem, ca.cert_pem)
        self.key_pem = as_secret(key.private_key_pem)
        self.register_outputs({"caCertPem": self.ca_cert_pem})
