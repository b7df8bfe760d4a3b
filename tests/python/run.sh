#!/usr/bin/env bash
# Runs the Python module's tests (tests/python) with Debian's python3 and pytest against the
# module CMake built into BUILD_DIR/python. Usage: tests/python/run.sh [BUILD_DIR] [pytest args]
# Every pytest failure fails this script, including exit 5 (no tests collected).
set -uo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
shift || true
if ! compgen -G "$build/python/kiln/_kiln*.so" >/dev/null; then
  echo "tests/python: no Python module in $build/python/kiln (needs python3-dev and pybind11-dev; scripts/setup.sh)" >&2
  exit 1
fi
PYTHONPATH="$PWD/$build/python" KILN_BINARY="$PWD/$build/kiln" OMP_WAIT_POLICY=PASSIVE \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/python "$@"
code=$?
case $code in
  0) ;;
  5) echo "tests/python: pytest collected no tests" >&2 ;;
  *) echo "tests/python: pytest failed (exit $code)" >&2 ;;
esac
exit $code
