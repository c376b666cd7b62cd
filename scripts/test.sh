#!/usr/bin/env bash
# The test command (README.md; docs/explanation/tests.md): prepares the machine, lints,
# type-checks, builds the docs site, and runs the unit and end-to-end suites against a real
# Docker engine. Extra arguments go to pytest.
#
#   bash scripts/test.sh           the whole suite (what CI runs)
#   bash scripts/test.sh --quick   lint, types, the docs site and the unit tests only: no
#                                  Docker engine is installed, started or asked (DOCKER_HOST
#                                  points nowhere)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
quick=false
if [ "${1:-}" = "--quick" ]; then
  quick=true
  shift
fi
if $quick; then
  bash scripts/test-env.sh --quick
else
  bash scripts/test-env.sh
fi
bin="$here/.venv/bin"

echo "== ruff"
"$bin/ruff" check .
"$bin/ruff" format --check .
echo "== mypy"
"$bin/mypy" .
echo "== docs"
# Strict: a page missing from the nav, a broken link or anchor fails the run (mkdocs.yml).
# Not --quiet: it hides the warnings from strict mode, and the build passes with them. The
# notice about MkDocs 2 is not about this site.
NO_MKDOCS_2_WARNING=1 "$bin/mkdocs" build --strict --site-dir "$here/test-results/site"

echo "== pytest"
mkdir -p test-results
status=0
if $quick; then
  # Proves the unit tier needs no engine: nothing listens there.
  DOCKER_HOST=unix:///nonexistent "$bin/python" -m pytest -rs --junitxml=test-results/junit-quick.xml \
    tests/unit "$@" || status=$?
  [ "$status" -eq 0 ] || exit "$status"
  exec "$bin/python" scripts/check_test_results.py test-results/junit-quick.xml
fi
# Two workers, each taking whole groups of tests (tests/grouping.py; `loadscope` is made to
# mean those groups in tests/conftest.py) in the order tests/e2e/conftest.py gives
# (`--no-loadscope-reorder` keeps it): most of a test's time is spent waiting on the engine, the
# hub or a nested engine, so two of them share a 2-core machine well, and each holds at most two
# stacks at a time (the run's peak is printed at its end).
"$bin/python" -m pytest -n 2 --dist loadscope --no-loadscope-reorder -rs --durations=15 \
  --junitxml=test-results/junit.xml "$@" || status=$?
# Any failure, and pytest's 5 (nothing collected), fails the run as it is.
[ "$status" -eq 0 ] || exit "$status"
# A green run must have run tests: none passing, or skips for any reason but the missing
# Pulumi CLI (the Automation API variants), fail it.
"$bin/python" scripts/check_test_results.py test-results/junit.xml
