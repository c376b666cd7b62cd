"""A test harness that executes the Pulumi program's resource graph on a real Docker engine.

The Pulumi CLI and its provider plugins cannot be installed on the machines this project is
built on, so `pulumi up` cannot run there. The harness stands in for the engine: it runs the
program under `pulumi.runtime.set_mocks`, and its mocks create every registered resource for
real (Docker SDK for containers, networks, volumes, image builds and pulls; subprocesses for
pulumi-command; the `secrets` module for pulumi-random) from exactly the inputs the program
registered. A resource type, input or option it does not implement fails the run.

Entry points (see docs/explanation/tests.md, "The test harness"):
    python -m tests.harness preview --stack NAME [--config FILE] [--secret PATH=VALUE ...]
    python -m tests.harness up      --stack NAME --state-dir DIR [--config FILE] [--secret ...]
    python -m tests.harness destroy --stack NAME --state-dir DIR
"""
