"""Command line of the harness, shaped like the Pulumi CLI's:

record   the program's registrations, no state, no engine (unit tests: Pulumi's set_mocks)
preview  the plan against the stack's state: same/update/replace/create/delete per resource
up       execute the plan on the real engine
destroy  delete everything in the state, from the state alone (or --run-program)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import yaml

from plan import preflight
from plan.preflight import EnginePreflight, StandInPreflight

from . import stackconfig
from .runner import Run, program_error_text, project_options
from .state import StateFile
from .values import HarnessError

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _log(message: str) -> None:
    print(f"[harness {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _plan(run: Run) -> list[dict[str, object]]:
    return [step.describe() for step in run.steps] + list(run.deletes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness", description=__doc__)
    parser.add_argument("action", choices=["record", "preview", "up", "destroy"])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    parser.add_argument("--config", type=Path, help="stack file (default: Pulumi.<stack>.yaml)")
    parser.add_argument("--state-dir", type=Path, help="where the stack's state lives")
    parser.add_argument("--secret", action="append", default=[], metavar="PATH=VALUE")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    parser.add_argument("--show-secrets", action="store_true")
    parser.add_argument("--refresh", action="store_true", help="refresh first (`pulumi up --refresh`)")
    parser.add_argument(
        "--no-refresh",
        action="store_true",
        help="do not refresh, whatever Pulumi.yaml says (`--refresh=false`)",
    )
    parser.add_argument(
        "--run-program", action="store_true", help="destroy: run the program for the providers' config"
    )
    parser.add_argument("--expect-no-changes", action="store_true", help="fail if the plan changes anything")
    parser.add_argument(
        "--real-preflight",
        action="store_true",
        help="record: ask the engine at dockerHost as a deploy does (default: a stand-in that answers)",
    )
    args = parser.parse_args(argv)

    project_dir = args.project_dir.resolve()
    namespace = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]
    config_file = args.config or project_dir / f"Pulumi.{args.stack}.yaml"
    if args.action != "record" and args.state_dir is None:
        parser.error(f"{args.action} needs --state-dir")
    state = StateFile(args.state_dir / f"{args.stack}.json") if args.action != "record" else None
    run = Run(project_dir, args.stack, mode=args.action, state=state, log=_log)
    # The engine runs the program and the providers in the project directory, for destroy too.
    os.chdir(project_dir)
    refresh = (
        args.refresh or project_options(project_dir).get("refresh") == "always"
    ) and not args.no_refresh
    try:
        if args.action != "record" and refresh:
            run.refresh()
        if args.action == "destroy" and not args.run_program:
            run.destroy()
            print(json.dumps({"destroyed": args.stack, "plan": _plan(run)}, indent=1))
            return 0
        config, secret_keys = stackconfig.load(
            config_file if config_file.exists() else None,
            namespace,
            secrets=args.secret,
            settings=args.set,
        )
        started = time.monotonic()
        # Recording runs no step on an engine, so it asks none either (plan/preflight.py).
        chosen = EnginePreflight() if args.action != "record" or args.real_preflight else StandInPreflight()
        try:
            with preflight.use(chosen):
                run.run_program(config, secret_keys)
        except HarnessError:
            raise
        except Exception as exc:
            # The program's own error, printed the way the Python language host prints it.
            print(f"error: {program_error_text(exc)}", file=sys.stderr)
            if args.action in ("record", "preview"):
                print(json.dumps({"error": str(exc), "resources": run.registrations}, indent=1))
            return 1
        if args.action == "destroy":
            run.destroy()
            print(json.dumps({"destroyed": args.stack, "plan": _plan(run)}, indent=1))
            return 0
        if args.action in ("up", "preview"):
            run.finish_update()
        plan = _plan(run)
        changes = [step for step in plan if step["op"] != "same"]
        if args.expect_no_changes and changes:
            print(
                f"error: expected no changes, the plan has {json.dumps(changes, indent=1)}", file=sys.stderr
            )
            return 3
        outputs = {
            key: ("[secret]" if out["secret"] and not args.show_secrets else out["value"])
            for key, out in run.outputs.items()
        }
        result: dict[str, object] = {"outputs": outputs, "seconds": round(time.monotonic() - started, 1)}
        if args.action == "record":
            result["resources"] = run.registrations
        else:
            result["plan"] = plan
        print(json.dumps(result, indent=1, sort_keys=True))
        return 0
    except HarnessError as exc:
        # The harness refusing what the program registered, or an operation of the engine or a
        # provider failing (as `pulumi up` reports a failed step): exit 2.
        print(f"error: {exc}", file=sys.stderr)
        if args.action in ("record", "preview"):
            print(json.dumps({"error": str(exc), "resources": run.registrations}, indent=1))
        return 2


if __name__ == "__main__":
    sys.exit(main())
