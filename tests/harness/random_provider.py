"""pulumi-random's RandomPassword: every input replaces it; read and update change nothing.

Upstream: pulumi/pulumi-random (bridged from hashicorp/terraform-provider-random,
internal/provider/resource_password.go: every attribute `RequiresReplace`).
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from .resource import ALL, Context, Handler


class RandomPassword(Handler):
    type = "random:index/randomPassword:RandomPassword"
    schema = {"length": int, "special": bool, "upper": bool, "lower": bool, "numeric": bool}
    force_new = ALL
    computed = ("result", "bcryptHash")

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        alphabet = ""
        if inputs.get("lower", True):
            alphabet += string.ascii_lowercase
        if inputs.get("upper", True):
            alphabet += string.ascii_uppercase
        if inputs.get("numeric", True):
            alphabet += string.digits
        if inputs.get("special", True):
            alphabet += "!@#$%&*()-_=+[]{}<>:?"
        result = "".join(secrets.choice(alphabet) for _ in range(int(inputs["length"])))
        return "none", {**inputs, "result": result}


HANDLERS = (RandomPassword(),)
