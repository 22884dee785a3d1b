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

# kafka_up NODES PORT DIR: starts an Apache Kafka cluster in DIR
# (scripts/kafka.sh), stops it when the calling script exits, and exports
# TWEETOSCOPE_TEST_BROKERS. Run from the repository's root.
kafka_up() {
    local nodes=$1 port=$2 dir=$3 out
    # shellcheck disable=SC2064  # the folder is fixed now, on purpose
    trap "bash scripts/kafka.sh stop --dir '$dir' >/dev/null 2>&1 || true" EXIT
    out=$(bash scripts/kafka.sh start --brokers "$nodes" --port "$port" --dir "$dir") \
        || die "Apache Kafka ($nodes node(s)) did not start (logs: $dir/node-*/server.log)"
    TWEETOSCOPE_TEST_BROKERS=$(tail -1 <<<"$out" | sed -n 's/^bootstrap=//p')
    [ -n "$TWEETOSCOPE_TEST_BROKERS" ] || die "scripts/kafka.sh printed no bootstrap line: $out"
    export TWEETOSCOPE_TEST_BROKERS
}
