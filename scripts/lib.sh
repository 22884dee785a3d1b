# Shared by the test scripts (sourced): installs what a suite needs on a
# fresh Debian machine, or stops with what to install by hand. The caller
# defines `die MESSAGE`.

# need_apt [--APT-OPTION...] PACKAGE...: installs the Debian packages that
# are missing, passing the options to apt-get install.
need_apt() {
    local opts=() missing=()
    while [ "${1:-}" != "${1#--}" ]; do opts+=("$1"); shift; done
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    printf '\n== installing %s (apt)\n' "${missing[*]}"
    command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${opts[@]}" "${missing[@]}" >/dev/null \
        || die "cannot install ${missing[*]}"
}
