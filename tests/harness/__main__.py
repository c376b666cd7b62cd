"""Command line of the harness: preview (record only), up (execute), destroy."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

from . import stackconfig
from .runner import Run, StateFile
from .values import HarnessError

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _log(message: str) -> None:
    print(f"[harness {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.harness", description=__doc__)
    parser.add_argument("action", choices=["preview", "up", "destroy"])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
    parser.add_argument("--config", type=Path, help="stack file (default: Pulumi.<stack>.yaml)")
    parser.add_argument("--state-dir", type=Path, help="where up/destroy keep the stack's state")
    parser.add_argument("--secret", action="append", default=[], metavar="PATH=VALUE")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    parser.add_argument("--show-secrets", action="store_true")
    args = parser.parse_args(argv)

    project_dir = args.project_dir.resolve()
    namespace = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"]
    config_file = args.config or project_dir / f"Pulumi.{args.stack}.yaml"
    if args.action != "preview" and args.state_dir is None:
        parser.error(f"{args.action} needs --state-dir")
    state = StateFile(args.state_dir / f"{args.stack}.json") if args.state_dir else None
    run = Run(project_dir, args.stack, state=state, log=_log)
    try:
        if args.action == "destroy":
            assert state is not None
            run.destroy(list(state.records.values()))
            state.path.unlink(missing_ok=True)
            print(json.dumps({"destroyed": args.stack}))
            return 0
        config, secret_keys = stackconfig.load(
            config_file if config_file.exists() else None,
            namespace,
            secrets=args.secret,
            settings=args.set,
        )
        started = time.monotonic()
        run.run_program(config, secret_keys)
        if args.action == "up":
            run.remove_stale()
        outputs = {
            key: ("[secret]" if out["secret"] and not args.show_secrets else out["value"])
            for key, out in run.outputs.items()
        }
        result: dict[str, object] = {"outputs": outputs, "seconds": round(time.monotonic() - started, 1)}
        if args.action == "preview":
            result["resources"] = run.registrations
        print(json.dumps(result, indent=1, sort_keys=True))
        return 0
    except Exception as exc:
        # A HarnessError is the harness refusing what the program registered (exit 2); any other
        # exception is the program's own error, e.g. an invalid stack config (exit 1).
        print(f"error: {exc}", file=sys.stderr)
        if args.action == "preview":
            # What got registered before the failure: a bad config must have registered nothing.
            print(json.dumps({"error": str(exc), "resources": run.registrations}, indent=1))
        return 2 if isinstance(exc, HarnessError) else 1


if __name__ == "__main__":
    sys.exit(main())
