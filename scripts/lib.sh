# shellcheck shell=bash
# Shared by the scripts: installs what the tests and the gate need on a fresh
# machine, and says what it installs. Sourced, not run.
#
# Every probe here must survive `set -euo pipefail` when the tool is absent:
# a failing probe is an answer ("not installed"), never a reason to stop.
# scripts/check-install proves that with stub tools on a bare PATH.

# The gungraun library version in Cargo.lock; the runner must match it exactly.
gungraun_version() {
    awk '/^name = "gungraun"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

# The installed gungraun-runner's version, or nothing when there is none
# (or it cannot say).
installed_runner_version() {
    command -v gungraun-runner >/dev/null 2>&1 || return 0
    { gungraun-runner --version 2>/dev/null || true; } | awk 'NR == 1 { print $2 }'
}

# Installs Debian packages that are absent: `ensure_apt_tool COMMAND PACKAGE`.
ensure_apt_tool() {
    local tool="$1" package="$2" sudo=""
    command -v "$tool" >/dev/null 2>&1 && return 0
    echo "== installing $package (Debian package; '$tool' is not on PATH)"
    [ "$(id -u)" = 0 ] || sudo="sudo"
    if [ -z "${STORELAB_APT_UPDATED:-}" ]; then
        $sudo apt-get update -q >/dev/null
        STORELAB_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "$package" >/dev/null
    command -v "$tool" >/dev/null 2>&1 || {
        echo "error: installed $package but '$tool' is still not on PATH" >&2
        return 1
    }
}

# cargo installs binaries here; later commands in the script must find them.
add_cargo_bin_to_path() {
    case ":$PATH:" in
        *":${CARGO_HOME:-$HOME/.cargo}/bin:"*) ;;
        *) PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH" ;;
    esac
    export PATH
}

ensure_gate_tools() {
    add_cargo_bin_to_path
    ensure_apt_tool valgrind valgrind
    local want have
    want="$(gungraun_version)"
    if [ -z "$want" ]; then
        echo "error: Cargo.lock names no gungraun version" >&2
        return 1
    fi
    have="$(installed_runner_version)"
    if [ "$have" != "$want" ]; then
        echo "== installing gungraun-runner $want with cargo install (found: ${have:-none})"
        cargo install gungraun-runner --version "$want" --locked --quiet
    fi
}

# The stores on Redis run the conformance suite against real servers the
# tests start: redis-server, and redis-cli for the cluster (Debian's
# redis-server depends on redis-tools, which ships it).
ensure_redis_tools() {
    ensure_apt_tool redis-server redis-server
}

ensure_lint_tools() {
    ensure_apt_tool shellcheck shellcheck
}
