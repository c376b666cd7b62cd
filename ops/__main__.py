"""`python -m ops backup|restore`: see docs/how-to/operations.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plan.naming import StackNames

from .backup import backup, restore
from .engine import Engine, OpsError

PROJECT = "jupyterhub-docker"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help="where Pulumi.yaml is")
    parser.add_argument("--config-file", type=Path, help="default: <project-dir>/Pulumi.<stack>.yaml")
    actions = parser.add_subparsers(dest="action", required=True)
    save = actions.add_parser("backup", help="write an archive directory of the stack's data")
    save.add_argument("--stack", required=True)
    save.add_argument(
        "--out", type=Path, default=Path("backups"), help="where archives go (default: backups/)"
    )
    load = actions.add_parser("restore", help="bring an archive back into a deployed stack")
    load.add_argument("--stack", required=True, help="the target stack (the same or another)")
    load.add_argument("archive", type=Path)
    load.add_argument("--overwrite", action="store_true", help="replace volumes that hold data")
    args = parser.parse_args(argv)
    try:
        engine = Engine.for_stack(args.project_dir, args.stack, args.config_file)
        names = StackNames(project=PROJECT, stack=args.stack)
        if args.action == "backup":
            print(f"backup of {args.stack} written to {backup(engine, names, args.out)}")
        else:
            restore(engine, names, args.archive, overwrite=args.overwrite)
            print(f"restored {args.archive} into {args.stack}; the hub was restarted")
    except OpsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
