#!/usr/bin/env bash
# local_slurm.sh -- start / stop / inspect a real one-node SLURM cluster on
# this machine (for tests and for trying the SLURM profile locally).
#
#   bash workflow/scripts/local_slurm.sh start    # install (if needed) + start
#   bash workflow/scripts/local_slurm.sh status   # sinfo/squeue; rc 0 if usable
#   bash workflow/scripts/local_slurm.sh stop     # kill slurmd/slurmctld/munged
#
# Works without systemd (daemons are started directly).  Needs root, or sudo
# (the script re-executes itself through sudo for start/stop).
# Tested with Debian 12's slurm-wlm 22.05.8 and munge 0.5.15.
#
# Environment overrides:
#   LOCAL_SLURM_TIMEOUT  seconds to wait for the node to become idle (60)
#   LOCAL_SLURM_MEM_PCT  percent of MemTotal given to the node        (80)
#
# WARNING: `start` (over)writes /etc/slurm/slurm.conf (an existing file that
# was not written by this script is backed up first) and `stop` kills every
# slurmd/slurmctld/slurmstepd/munged process on the machine.
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"

CLUSTER=uaplocal
SLURM_CONF=/etc/slurm/slurm.conf
SPOOL=/var/spool/slurm-uap
LOGDIR=/var/log/slurm-uap
RUNDIR=/run/slurm-uap
MUNGE_KEY=/etc/munge/munge.key
MUNGE_LOG=/var/log/munge/munged.log
MARKER="# Written by workflow/scripts/local_slurm.sh"
TIMEOUT="${LOCAL_SLURM_TIMEOUT:-60}"
MEM_PCT="${LOCAL_SLURM_MEM_PCT:-80}"
NODE="$(hostname -s 2>/dev/null || hostname)"
# slurm.conf is read by the client commands too; make sure they use ours.
export SLURM_CONF

log() { printf '[local_slurm] %s\n' "$*" >&2; }

die() {
    log "ERROR: $*"
    show_logs
    log "ERROR: $*"
    exit 1
}

show_logs() {
    local f
    for f in "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" "$MUNGE_LOG"; do
        if [ -r "$f" ]; then
            printf '\n----- tail -n 25 %s -----\n' "$f" >&2
            tail -n 25 "$f" >&2 || true
        fi
    done
}

usage() {
    echo "usage: bash $0 {start|stop|status}" >&2
    exit 2
}

# Re-run this script as root (through sudo) if we are not root.
ensure_root() {
    [ "$(id -u)" -eq 0 ] && return 0
    if command -v sudo >/dev/null 2>&1; then
        log "not root: re-running through sudo"
        exec sudo -E env "PATH=$PATH" bash "$0" "$@"
    fi
    log "ERROR: '$1' needs root privileges (to install packages, write /etc/slurm and"
    log "       /etc/munge and start the daemons), but this is uid $(id -u) and sudo is"
    log "       not available. Re-run as root."
    exit 1
}

# ---------------------------------------------------------------- helpers
is_running() { pgrep -x "$1" >/dev/null 2>&1; }

# Extended state of our node as printed by sinfo (e.g. idle, mixed, down*),
# empty if slurmctld cannot be reached.
node_state() {
    timeout 15 sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1 | tr -d ' ' || true
}

state_usable() {
    case "$1" in
        idle | mixed | allocated | completing) return 0 ;;
        *) return 1 ;;
    esac
}

print_status() {
    echo "== sinfo"
    timeout 15 sinfo -N -l 2>&1 || true
    echo "== squeue"
    timeout 15 squeue 2>&1 || true
}

# Ask for the daemons to stop, wait up to $2 s, then SIGKILL what is left.
kill_and_wait() {
    local name="$1" wait_s="${2:-10}" i
    is_running "$name" || return 0
    pkill -TERM -x "$name" 2>/dev/null || true
    for ((i = 0; i < wait_s * 5; i++)); do
        is_running "$name" || return 0
        sleep 0.2
    done
    log "$name did not exit after ${wait_s}s; sending SIGKILL"
    pkill -KILL -x "$name" 2>/dev/null || true
    sleep 0.5
}

# ---------------------------------------------------------------- install
install_packages() {
    local missing=() b
    for b in sbatch sinfo slurmctld slurmd munged munge unmunge; do
        command -v "$b" >/dev/null 2>&1 || missing+=("$b")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "missing: ${missing[*]} -> installing slurm-wlm and munge with apt-get"
    command -v apt-get >/dev/null 2>&1 ||
        die "apt-get not found; install SLURM (slurmctld, slurmd, client) and munge by hand"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update || die "apt-get update failed"
    # The package scripts try to start the services (systemd/invoke-rc.d);
    # that may fail without systemd, which is harmless: we start them below.
    apt-get install -y --no-install-recommends slurm-wlm munge ||
        die "apt-get install slurm-wlm munge failed"
    for b in sbatch sinfo slurmctld slurmd munged munge unmunge; do
        command -v "$b" >/dev/null 2>&1 || die "'$b' still missing after apt-get install"
    done
    # A package postinst may have started daemons with its own config; we
    # want to start them ourselves with the config written below.
    kill_and_wait slurmd 10
    kill_and_wait slurmctld 10
}

# ---------------------------------------------------------------- munge
munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
    id munge >/dev/null 2>&1 || die "user 'munge' does not exist (is the munge package installed?)"
    install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
    install -d -o munge -g munge -m 0711 /var/lib/munge
    install -d -o munge -g munge -m 0755 /run/munge
    if [ ! -s "$MUNGE_KEY" ]; then
        log "creating $MUNGE_KEY (1 KiB random)"
        (umask 077 && dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none)
        chown munge:munge "$MUNGE_KEY"
        chmod 0400 "$MUNGE_KEY"
    else
        # munged refuses keys that are not owned by it or readable by others.
        chown munge:munge "$MUNGE_KEY"
        chmod go-rwx "$MUNGE_KEY"
    fi

    if is_running munged && munge_ok; then
        return 0
    fi
    kill_and_wait munged 5
    log "starting munged"
    if command -v runuser >/dev/null 2>&1; then
        runuser -u munge -- munged || die "munged failed to start"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -u munge munged || die "munged failed to start"
    else
        su -s /bin/sh munge -c "$(command -v munged)" || die "munged failed to start"
    fi
    local i
    for ((i = 0; i < 50; i++)); do
        munge_ok && return 0
        sleep 0.2
    done
    die "munged is not working ('munge -n | unmunge' fails)"
}

# ---------------------------------------------------------------- slurm.conf
write_slurm_conf() {
    local mem_kb real_mem hw cpus topo
    mem_kb="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
    real_mem=$((mem_kb * MEM_PCT / 100 / 1024))
    [ "$real_mem" -ge 100 ] || real_mem=100

    # The node's socket/core/thread layout must match what slurmd detects,
    # otherwise the node is set to DRAIN/INVALID.  Take it from `slurmd -C`.
    cpus="$(nproc)"
    topo=""
    hw="$(slurmd -C 2>/dev/null | head -n 1 || true)"
    if [[ "$hw" =~ CPUs=([0-9]+) ]]; then
        cpus="${BASH_REMATCH[1]}"
        topo="$(grep -oE '(Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=[0-9]+' <<<"$hw" | tr '\n' ' ')"
        if [ "$cpus" != "$(nproc)" ]; then
            log "note: slurmd -C reports CPUs=$cpus but nproc=$(nproc); using slurmd's value"
        fi
    fi
    # Let jobs without --mem get a proportional share instead of the whole node.
    local def_mem=$((real_mem / cpus))

    mkdir -p "$(dirname "$SLURM_CONF")"
    if [ -f "$SLURM_CONF" ] && ! grep -qF "$MARKER" "$SLURM_CONF"; then
        local bak
        bak="$SLURM_CONF.bak.$(date +%Y%m%d%H%M%S)"
        log "backing up existing $SLURM_CONF to $bak"
        cp -p "$SLURM_CONF" "$bak"
    fi

    local tmp="$SLURM_CONF.tmp.$$"
    cat >"$tmp" <<EOF
$MARKER
# (one-node local test cluster; regenerated on every 'start' -- do not edit)
ClusterName=$CLUSTER
# Pin to loopback so that nothing depends on how the hostname resolves.
SlurmctldHost=$NODE(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# No cgroups: linuxproc/none work in containers and without systemd.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$def_mem
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# No mail on this machine; avoids "Configured MailProg is invalid".
MailProg=/bin/true
MinJobAge=600
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$RUNDIR/slurmctld.pid
SlurmdPidFile=$RUNDIR/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmctldTimeout=60
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus ${topo}RealMemory=$real_mem State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    chmod 0644 "$tmp"
    mv -f "$tmp" "$SLURM_CONF"
}

# ---------------------------------------------------------------- commands
cmd_start() {
    local t0 state i
    t0=$(date +%s)

    if command -v sinfo >/dev/null 2>&1 && is_running slurmctld && is_running slurmd; then
        state="$(node_state)"
        if state_usable "$state"; then
            log "already running (node $NODE is $state); nothing to do"
            exit 0
        fi
        log "daemons running but node state is '${state:-unreachable}': restarting"
    fi

    install_packages
    start_munge

    # Restart the SLURM daemons from scratch with our config.
    kill_and_wait slurmd 10
    kill_and_wait slurmctld 10
    write_slurm_conf
    install -d -m 0755 "$SPOOL" "$SPOOL/ctld" "$SPOOL/d" "$LOGDIR" "$RUNDIR"

    log "starting slurmctld"
    slurmctld -f "$SLURM_CONF" || die "slurmctld failed to start"
    log "starting slurmd"
    slurmd -f "$SLURM_CONF" || die "slurmd failed to start"

    log "waiting up to ${TIMEOUT}s for node $NODE to become idle"
    local resumed=0 deadline=$(($(date +%s) + TIMEOUT))
    while :; do
        is_running slurmctld || die "slurmctld exited"
        is_running slurmd || die "slurmd exited"
        state="$(node_state)"
        case "$state" in
            idle | mixed | allocated | completing)
                break
                ;;
            down* | drain* | fail* | inval*)
                # ReturnToService=2 normally handles this; nudge it anyway.
                if [ "$resumed" -lt 3 ]; then
                    log "node is '$state': scontrol update state=resume"
                    scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
                    resumed=$((resumed + 1))
                fi
                ;;
        esac
        if [ "$(date +%s)" -ge "$deadline" ]; then
            timeout 15 scontrol show node "$NODE" >&2 2>&1 || true
            die "node $NODE is still '${state:-unreachable}' after ${TIMEOUT}s" \
                "(daemons left running for inspection; 'bash $0 stop' stops them)"
        fi
        sleep 1
    done
    log "cluster '$CLUSTER' is up (node $NODE: $state) after $(($(date +%s) - t0))s"
    print_status
}

cmd_stop() {
    local n
    for n in slurmd slurmctld slurmstepd munged; do
        if is_running "$n"; then
            log "stopping $n"
            kill_and_wait "$n" 10
        fi
    done
    log "stopped"
    exit 0
}

cmd_status() {
    local state="" rc=1
    if [ ! -f "$SLURM_CONF" ]; then
        echo "$SLURM_CONF does not exist: run '$0 start' first"
    elif ! command -v sinfo >/dev/null 2>&1; then
        echo "sinfo not installed"
    elif ! is_running slurmctld; then
        # (sinfo would only retry for ~30 s before failing)
        echo "slurmctld is not running on this machine"
    else
        print_status
        state="$(node_state)"
        # slurmctld only notices a dead slurmd after SlurmdTimeout, so also
        # require the local daemons to be alive.
        state_usable "$state" && is_running slurmd && is_running munged && rc=0
    fi
    local n
    for n in munged slurmctld slurmd; do
        if is_running "$n"; then echo "$n: running"; else echo "$n: not running"; fi
    done
    echo "node $NODE: ${state:-unreachable}"
    exit "$rc"
}

case "${1:-}" in
    start) ensure_root "$@"; cmd_start ;;
    stop) ensure_root "$@"; cmd_stop ;;
    status) cmd_status ;;
    *) usage ;;
esac
