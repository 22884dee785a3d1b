#!/usr/bin/env bash
# Runs every test of the project on a fresh machine that has only the Rust
# toolchain: installs what the tests need, fails loudly when it cannot.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n== %s\n' "$*"; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

need_apt() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]} (apt)"
    command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null || die "cannot install ${missing[*]}"
}

say "tools"
command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain (rustup)"
rustup component list --installed 2>/dev/null | grep -q rustfmt || rustup component add rustfmt clippy

say "format"
cargo fmt --all -- --check || die "cargo fmt --check failed: run cargo fmt --all"

say "lints"
cargo clippy --workspace --all-targets --release -- -D warnings

say "tests"
cargo test --workspace --release 2>&1 | tee target/test.log
grep -q "test result: FAILED" target/test.log && die "some tests failed"
passed=$(grep -Eo '[0-9]+ passed' target/test.log | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' target/test.log | awk '{s+=$1} END {print s+0}')
echo
echo "tests: $passed passed, $failed failed"
