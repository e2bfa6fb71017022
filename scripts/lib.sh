# Shared by the scripts: installs what the gate needs on a fresh machine.
# Sourced, not run.

# The gungraun library version in Cargo.lock; the runner must match it exactly.
gungraun_version() {
    awk '/^name = "gungraun"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

ensure_gate_tools() {
    if ! command -v valgrind >/dev/null 2>&1; then
        echo "== installing valgrind"
        if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
        $SUDO apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q valgrind >/dev/null
    fi
    local want have
    want="$(gungraun_version)"
    have="$(gungraun-runner --version 2>/dev/null | awk '{print $2}')"
    if [ "$have" != "$want" ]; then
        echo "== installing gungraun-runner $want (found: ${have:-none})"
        cargo install gungraun-runner --version "$want" --locked --quiet
    fi
}
