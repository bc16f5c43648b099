# shellcheck shell=bash
# The pid trust, the lock and the stop logic moved to lifecycle.sh, the one library of the
# processes the suite starts (issue 12 item 3). This name stays so that a caller not yet
# moved keeps working; new code says `use_libs lifecycle`.
# shellcheck source=scripts/lib/lifecycle.sh
source "${BASH_SOURCE[0]%/*}/lifecycle.sh"
