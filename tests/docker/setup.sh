#!/usr/bin/env bash
# Prepare a Docker engine and a local Python base image on a machine that can
# reach Debian's apt mirrors and PyPI but no container registry.
#
#   tests/docker/setup.sh        install engine, start dockerd if needed, build base image
#   tests/docker/setup.sh stop   stop the dockerd this script started (no-op otherwise)
#
# Environment (all optional):
#   BASE_IMAGE       image to create            (default local/python:3.11-slim)
#   DEBIAN_SUITE     Debian release to use      (default bookworm -> Python 3.11; trixie -> 3.13)
#   DEBIAN_MIRROR    Debian mirror              (default http://deb.debian.org)
#   ROOTFS_CACHE     where the rootfs tar lives (default /var/cache/flask-template)
#   DOCKERD_PIDFILE  pidfile of our dockerd     (default /tmp/flask-template-docker/dockerd.pid)
#   DOCKERD_LOG      dockerd's log              (default next to the pidfile)
#
# Afterwards build with Debian's client, which has BuildKit built in:
#   DOCKER_BUILDKIT=1 /usr/bin/docker build --build-arg PYTHON_IMAGE=local/python:3.11-slim .
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-local/python:3.11-slim}
DEBIAN_SUITE=${DEBIAN_SUITE:-bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org}
ROOTFS_CACHE=${ROOTFS_CACHE:-/var/cache/flask-template}
DOCKERD_PIDFILE=${DOCKERD_PIDFILE:-/tmp/flask-template-docker/dockerd.pid}
DOCKERD_LOG=${DOCKERD_LOG:-$(dirname "$DOCKERD_PIDFILE")/dockerd.log}
DAEMON_WAIT=${DAEMON_WAIT:-30}

# Debian's client: /usr/local/bin/docker (earlier in PATH on some machines) lacks
# buildx, so BuildKit fails with it and builds fall back to the legacy builder.
DOCKER=/usr/bin/docker
export DOCKER_BUILDKIT=1
export DEBIAN_FRONTEND=noninteractive

# python-is-python3 gives `python`, as in the official python:*-slim images.
PACKAGES=python3,python3-venv,python3-pip,python-is-python3,ca-certificates
# Leave out docs, man pages and translations, as Debian's own container images do.
DPKG_EXCLUDES=(
    --dpkgopt='path-exclude=/usr/share/doc/*'
    --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/locale/*'
    --dpkgopt='path-exclude=/usr/share/info/*'
)

log() { printf '[docker-setup] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

declare -a TIMINGS=()
step_start() { STEP_NAME=$1; STEP_T0=$EPOCHREALTIME; }
step_end() {
    local dt
    dt=$(awk -v a="$STEP_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    TIMINGS+=("$STEP_NAME ${dt}s")
}

daemon_answers() { timeout 10 "$DOCKER" version >/dev/null 2>&1; }

# PID from our pidfile, only if that process is still a dockerd (guards against PID reuse).
our_dockerd_pid() {
    local pid
    [[ -r $DOCKERD_PIDFILE ]] || return 1
    pid=$(<"$DOCKERD_PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] || return 1
    echo "$pid"
}

stop_daemon() {
    local pid
    if ! pid=$(our_dockerd_pid); then
        log "no dockerd started by this script is running; nothing to stop"
        rm -f "$DOCKERD_PIDFILE"
        return 0
    fi
    log "stopping dockerd (pid $pid)"
    kill -TERM "$pid"
    # dockerd stops its containers and containerd first; give it time to do so.
    for _ in $(seq 1 30); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$DOCKERD_PIDFILE"; log "dockerd stopped"; return 0; }
        sleep 1
    done
    die "dockerd (pid $pid) still running after 30 s; see $DOCKERD_LOG"
}

ensure_engine() {
    step_start engine
    # docker-compose (v1, from Debian) validates the generated compose.yaml.
    if [[ -x $DOCKER ]] && command -v dockerd >/dev/null && command -v docker-compose >/dev/null; then
        log "engine present: $("$DOCKER" --version)"
    else
        log "installing docker.io and docker-compose from Debian (no registry needed)"
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends docker.io docker-compose >/dev/null
        log "installed: $("$DOCKER" --version)"
    fi
    step_end
}

ensure_daemon() {
    step_start daemon
    local pid
    if daemon_answers; then
        log "reusing the daemon that already answers"
    else
        if pid=$(our_dockerd_pid); then
            # Our earlier dockerd is still starting up: wait for it, don't start a second one.
            log "waiting for dockerd started earlier (pid $pid)"
        else
            mkdir -p "$(dirname "$DOCKERD_PIDFILE")" "$(dirname "$DOCKERD_LOG")"
            log "starting dockerd (log: $DOCKERD_LOG)"
            # setsid: the daemon outlives this script and a Ctrl-C in the caller's
            # terminal; it is stopped explicitly with `setup.sh stop`.
            setsid dockerd --storage-driver=overlay2 >>"$DOCKERD_LOG" 2>&1 </dev/null &
            pid=$!
            echo "$pid" >"$DOCKERD_PIDFILE"
        fi
        for ((i = 0; i < DAEMON_WAIT * 2; i++)); do
            daemon_answers && break
            if ! kill -0 "$pid" 2>/dev/null; then
                tail -n 20 "$DOCKERD_LOG" >&2 || true
                rm -f "$DOCKERD_PIDFILE"
                die "dockerd exited during startup"
            fi
            sleep 0.5
        done
        daemon_answers || die "dockerd did not answer within ${DAEMON_WAIT} s; see $DOCKERD_LOG"
        log "dockerd answers (pid $pid, pidfile $DOCKERD_PIDFILE)"
    fi
    step_end
}

# A Debian root file system from apt, cached: no registry, and seconds on the next run.
ensure_rootfs() {
    step_start rootfs
    local arch key
    arch=$(dpkg --print-architecture)
    # The package list and options are part of the name, so changing it never reuses a stale tar.
    key=$(printf '%s' "$DEBIAN_SUITE $PACKAGES ${DPKG_EXCLUDES[*]}" | sha256sum | cut -c1-8)
    ROOTFS_TAR=$ROOTFS_CACHE/rootfs-$DEBIAN_SUITE-$arch-$key.tar
    if [[ -s $ROOTFS_TAR ]]; then
        log "cached rootfs: $ROOTFS_TAR"
    else
        command -v mmdebstrap >/dev/null || {
            log "installing mmdebstrap"
            apt-get update -qq
            apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
        }
        mkdir -p "$ROOTFS_CACHE"
        log "building $DEBIAN_SUITE rootfs with mmdebstrap (about a minute)"
        # Explicit sources (incl. security updates); </dev/null so it never reads them from stdin.
        # Write to a temp name first so an interrupted run leaves no half tar in the cache.
        mmdebstrap --quiet --variant=minbase --include="$PACKAGES" "${DPKG_EXCLUDES[@]}" "$DEBIAN_SUITE" "$ROOTFS_TAR.part.tar" \
            "deb $DEBIAN_MIRROR/debian $DEBIAN_SUITE main" \
            "deb $DEBIAN_MIRROR/debian $DEBIAN_SUITE-updates main" \
            "deb $DEBIAN_MIRROR/debian-security $DEBIAN_SUITE-security main" \
            </dev/null
        mv "$ROOTFS_TAR.part.tar" "$ROOTFS_TAR"
        log "rootfs cached: $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
    fi
    step_end
}

ensure_image() {
    if "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        log "image present: $BASE_IMAGE"
        return 0
    fi
    ensure_rootfs

    step_start image
    local ctx raw=$BASE_IMAGE-rootfs
    ctx=$(mktemp -d)
    # shellcheck disable=SC2064  # expand now: ctx is local and gone at exit
    trap "rm -rf '$ctx'" EXIT
    log "importing rootfs as $raw"
    "$DOCKER" import "$ROOTFS_TAR" "$raw" >/dev/null

    # The host's extra CAs: without them pip in `docker build` fails with
    # CERTIFICATE_VERIFY_FAILED behind a TLS-inspecting proxy (as on this CI).
    mkdir -p "$ctx/extra-ca"
    cp /usr/local/share/ca-certificates/*.crt "$ctx/extra-ca/" 2>/dev/null || true
    log "extra CA certificates: $(find "$ctx/extra-ca" -name '*.crt' | wc -l)"
    : >"$ctx/extra-ca/.keep"

    # Make the import behave like python:*-slim: PATH and LANG set, CMD python3,
    # and pip allowed to install (no PEP 668 EXTERNALLY-MANAGED marker).
    cat >"$ctx/Dockerfile" <<'EOF'
ARG ROOTFS_IMAGE
FROM ${ROOTFS_IMAGE}
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN rm -f /usr/lib/python3*/EXTERNALLY-MANAGED /usr/local/share/ca-certificates/.keep \
 && update-ca-certificates >/dev/null \
 && python --version && python -m venv --help >/dev/null
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8
CMD ["python3"]
EOF
    log "building $BASE_IMAGE"
    "$DOCKER" build --quiet --build-arg ROOTFS_IMAGE="$raw" \
        --label org.opencontainers.image.description="Debian $DEBIAN_SUITE + python3 (mmdebstrap), stands in for python:*-slim" \
        -t "$BASE_IMAGE" "$ctx" >/dev/null
    # Only the final tag is wanted; its layers keep the imported rootfs anyway.
    "$DOCKER" rmi "$raw" >/dev/null
    step_end
}

main() {
    local t0=$EPOCHREALTIME
    ensure_engine
    ensure_daemon
    ensure_image
    local py total
    py=$("$DOCKER" run --rm "$BASE_IMAGE" python --version 2>&1)
    total=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    log "ready: image $BASE_IMAGE ($py); client $DOCKER with DOCKER_BUILDKIT=1"
    log "timings: ${TIMINGS[*]/%/,} total ${total}s"
}

case ${1:-up} in
    up) main ;;
    stop) stop_daemon ;;
    *) die "usage: $0 [up|stop]" ;;
esac
