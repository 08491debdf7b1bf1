#!/usr/bin/env bash
# The suite under load: 3 runs in a row with OPENBLAS_CORETYPE=Haswell and 3 with it unset, while busy
# loops keep every core busy. Passing means no test depends on timing or on one BLAS kernel's rounding.
# Usage: scripts/test-stress.sh [PYTHON]   (default: .venv/bin/python, as `make test-stress` passes it)
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"
cores="$(nproc)"
busy=()
for _ in $(seq "$cores"); do
  ( while :; do :; done ) &
  busy+=("$!")
done
trap 'kill "${busy[@]}" 2>/dev/null' EXIT
echo "load: $cores busy loops"
status=0
for setting in Haswell unset; do
  for run in 1 2 3; do
    if [ "$setting" = unset ]; then
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" -m pytest -q -n 2 --dist loadfile -p no:cacheprovider \
        > "/tmp/chainrule-stress-$setting-$run.log" 2>&1
    else
      OPENBLAS_CORETYPE=Haswell "$PY" -m pytest -q -n 2 --dist loadfile -p no:cacheprovider \
        > "/tmp/chainrule-stress-$setting-$run.log" 2>&1
    fi
    rc=$?
    echo "OPENBLAS_CORETYPE=$setting run $run: $(tail -1 "/tmp/chainrule-stress-$setting-$run.log") (exit $rc)"
    [ "$rc" = 0 ] || status=1
  done
done
exit "$status"
