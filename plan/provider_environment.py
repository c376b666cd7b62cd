"""The environment of whoever runs Pulumi must not choose the stack's Docker client identity.

The stack gives the docker provider every connection setting itself (components/host.py), but
an empty one counts as not given: the provider then takes DOCKER_CERT_PATH and the
DOCKER_*_MATERIAL variables from its environment (pulumi-docker provider/provider.go
`setConfiguration`; kreuzwerker internal/provider/provider.go `EnvDefaultFunc`, for which an
empty string is unset). Seen with the real CLI (pulumi 3.274.0, pulumi-docker 5.2.0; issue 20):
a stack on the local socket with `certPath: ""` failed its preview with "could not load X509
key pair" from a DOCKER_CERT_PATH left in the shell, and one over tcp:// would connect with
whatever certificates it names. So the plan refuses them, naming the variable and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping

from config.stack import ConfigError

# The provider's client identity, when the stack leaves its own setting empty.
IDENTITY_VARIABLES = (
    "DOCKER_CERT_PATH",
    "DOCKER_CA_MATERIAL",
    "DOCKER_CERT_MATERIAL",
    "DOCKER_KEY_MATERIAL",
)


def check_provider_environment(environ: Mapping[str, str]) -> None:
    found = [name for name in IDENTITY_VARIABLES if environ.get(name)]
    if found:
        raise ConfigError(
            [
                f"environment: {name} is set, and the docker provider would use it instead of the "
                "stack's own connection settings; unset it for pulumi "
                f"(`env -u {name} pulumi up`), and give a tcp:// host's client TLS in "
                "jupyterhub-docker:dockerTls"
                for name in found
            ]
        )
