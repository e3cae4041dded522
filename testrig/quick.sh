#!/usr/bin/env bash
# What to run before a commit, in a few minutes on two cores: formatting,
# clippy (host, all targets, -D warnings) and the host tests, through the
# same steps as CI (testrig/steps.sh), with their timing table.
#
#   testrig/quick.sh
#
# CI runs much more (FreeBSD and Windows, Wine, Miri, fuzzing, the guest
# suites): run one of those with testrig/suite.sh NAME.
exec "$(dirname "${BASH_SOURCE[0]}")/suite.sh" fmt clippy tests
