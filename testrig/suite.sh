#!/usr/bin/env bash
# Runs CI steps on their own, through the same code as .ci/run, and prints
# their timing table at the end.
#
#   testrig/suite.sh STEP...       e.g. guest, upcie, wine, miri, fuzz, verify,
#                                  icount, freebsd, tests, clippy
#   testrig/suite.sh all           every step, as .ci/run
#   testrig/suite.sh list          the steps with their budgets
#
# The steps and their budgets are in testrig/steps.sh. NVMX_CI_KEEP_GOING=1
# runs the next steps after a failure; NVMX_CI_BUDGET_SCALE=150 scales the
# budgets for a loaded machine. The guest steps need NVMX_VM_DIR (see
# testrig/vm/README.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source testrig/steps.sh
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

case ${1:-} in
'' | -h | --help)
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 2
    ;;
list)
    for s in "${CI_STEPS[@]}"; do
        IFS='|' read -r n b w <<<"$s"
        printf '%-10s %5s s  %s\n' "$n" "$b" "$w"
    done
    exit 0
    ;;
all) set -- $(ci_names) ;;
esac
set +e
ci_run "$@"
rc=$?
set -e
exit "$rc"
