#!/usr/bin/env bash
# The suite on a free-threaded (no-GIL) CPython 3.13 (issue 17).
#
#   bash tests/run_ft.sh [PYTEST ARGS...]
#
# Builds the interpreter with the shared script when it is missing
# (../shared/tools/freethreaded/build.sh: CPython 3.13.15 --disable-gil into
# /opt/cpython-3.13t, 10-17 min on 2 cores the first time) and makes the
# venv .venv-ft beside this checkout with the patched greenlet and the test
# tools; then installs gort into it and runs tests/run_all.py there: the
# suite at GOMAXPROCS 1, 2 and 4 with the GIL off, and the M:N test files
# once more with PYTHON_GIL=1 on the same binary.
#
# GORT_FT_PROCS picks the GIL-off passes (default "1,2,4"); GORT_FT_MN=0
# leaves the M:N test files out of them (they still run in the PYTHON_GIL=1
# pass); GORT_FT_GIL=0 skips the PYTHON_GIL=1 pass.  Tests that need
# packages the venv does not have (cryptography, requests, redis...) skip
# themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=${GORT_FT_VENV:-$root/.venv-ft}
build=$root/../shared/tools/freethreaded/build.sh
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import greenlet' 2>/dev/null; then
  bash "$build" "$venv"
fi
"$venv/bin/pip" install -q --no-deps -e "$root"
"$venv/bin/python" -c 'import sys; assert not sys._is_gil_enabled(), "the GIL is on"'

rc=0
echo "=== free-threaded: GIL off, GOMAXPROCS ${GORT_FT_PROCS:-1,2,4}"
mn=()
[ "${GORT_FT_MN:-1}" != 0 ] || mn=(--ignore-glob='tests/test_mn_*.py')
GORT_TEST_PROCS=${GORT_FT_PROCS:-1,2,4} PYTHON_GIL=0 "$venv/bin/python" tests/run_all.py \
  ${mn[@]+"${mn[@]}"} "$@" || rc=1
if [ "${GORT_FT_GIL:-1}" != 0 ]; then
  echo "=== free-threaded binary with PYTHON_GIL=1: the M:N test files"
  PYTHON_GIL=1 GORTMAXPROCS=1 "$venv/bin/python" -m pytest "$@" tests/test_mn_chan.py \
    tests/test_mn_sync.py tests/test_mn_sched.py tests/test_mn_net.py || rc=1
fi
exit $rc
