"""pulumi-command's local Command: the scripts run for real, on this machine.

Upstream: pulumi/pulumi-command provider/pkg/provider/local (command.go, commandController.go).
A change of `triggers` replaces the command (the SDK also sets `replaceOnChanges: triggers[*]`);
any other change is an update, which runs `update`, or `create` again when there is none. Read
returns the state; delete runs `delete` with the state's inputs. Scripts run in the program's
working directory (the project directory) unless `dir` says otherwise.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from typing import Any

from .resource import Context, Handler
from .state import Record
from .values import HarnessError


class Command(Handler):
    type = "command:local:Command"
    schema = {
        "create": str,
        "update": str,
        "delete": str,
        "environment": {"*": str},
        "interpreter": [str],
        "dir": str,
        "triggers": [object],
    }
    force_new = frozenset({"triggers"})
    computed = ("stdout", "stderr")
    computed_on_update = ("stdout", "stderr")

    def _run(
        self, ctx: Context, inputs: dict[str, Any], script: str, extra_env: dict[str, str] | None = None
    ) -> dict[str, str]:
        argv = [*(inputs.get("interpreter") or ["/bin/sh", "-c"]), script]
        env = {**os.environ, **(inputs.get("environment") or {}), **(extra_env or {})}
        cwd = ctx.project_dir / inputs["dir"] if inputs.get("dir") else ctx.project_dir
        result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
        if result.returncode != 0:
            raise HarnessError(
                f"command failed with exit code {result.returncode}:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        return {"stdout": result.stdout.rstrip("\n"), "stderr": result.stderr.rstrip("\n")}

    def create(
        self, ctx: Context, name: str, inputs: dict[str, Any], provider: str
    ) -> tuple[str, dict[str, Any]]:
        output = {"stdout": "", "stderr": ""}
        if inputs.get("create"):
            output = self._run(ctx, inputs, inputs["create"])
            ctx.log(f"{name}: {output['stdout'][-500:]}")
        return f"command-{name}-{secrets.token_hex(4)}", {**inputs, **output}

    def update(self, ctx: Context, record: Record, inputs: dict[str, Any]) -> dict[str, Any]:
        script = inputs.get("update") or inputs.get("create")
        previous = {
            "PULUMI_COMMAND_STDOUT": record.outputs.get("stdout", ""),
            "PULUMI_COMMAND_STDERR": record.outputs.get("stderr", ""),
        }
        output = self._run(ctx, inputs, script, previous) if script else {"stdout": "", "stderr": ""}
        if script:
            ctx.log(f"{record.name}: {output['stdout'][-500:]}")
        return {**inputs, **output}

    def delete(self, ctx: Context, record: Record) -> None:
        if record.inputs.get("delete"):
            output = self._run(
                ctx,
                record.inputs,
                record.inputs["delete"],
                {
                    "PULUMI_COMMAND_STDOUT": record.outputs.get("stdout", ""),
                    "PULUMI_COMMAND_STDERR": record.outputs.get("stderr", ""),
                },
            )
            ctx.log(f"{record.name} (delete): {output['stdout'][-500:]}")


HANDLERS = (Command(),)
