#!/usr/bin/env bash
# A private single-node Slurm cluster on the loopback interface, for tests.
#
#   tests/slurm/cluster.sh start DIR   install slurm-wlm + munge if missing, write
#                                      DIR/slurm.conf, start munged, slurmctld and
#                                      slurmd; prints SLURM_CONF=DIR/slurm.conf
#   tests/slurm/cluster.sh stop DIR    cancel its jobs, then stop exactly the
#                                      daemons that `start DIR` started, by pid
#
# Everything lives in DIR: configuration, munge key and socket, state, spool,
# logs and the pids of the daemons (DIR/pids). No system service is touched,
# and the ports are not Slurm's defaults, so it can run beside a real Slurm or
# munge. Clients find the cluster through SLURM_CONF=DIR/slurm.conf, with one
# exception: snakemake-executor-plugin-slurm-jobstep (0.6.1) removes every
# SLURM_* variable but a few job ids before it calls srun inside the job, so
# srun only finds the configuration at Slurm's default path. `start` therefore
# links /etc/slurm/slurm.conf -> DIR/slurm.conf when that path is free (and
# fails, exit 78, when another configuration is there); `stop` removes the link.
#
# Exit status 77: apt-get is not available to install what is missing (the
# caller skips). Any other failure is a real failure.
#
# Needs root (slurmd runs jobs as their submitter, munged runs as user munge).
# Measured on Debian 12 (Slurm 22.05.8, munge 0.5.15): install ~8 s, start
# under 1 s, stop ~4 s.
set -euo pipefail

: "${SLURMCTLD_PORT:=16817}" # away from the default 6817 of a system Slurm
: "${SLURMD_PORT:=16818}"
# MinJobAge must stay >= 3x the executor plugin's
# --slurm-init-seconds-before-status-checks, or the plugin falls back to sacct,
# which needs slurmdbd. It also keeps finished jobs visible to scontrol/squeue
# for the test's checks.
: "${SLURM_MIN_JOB_AGE:=600}"
: "${SLURM_DEF_MEM_PER_CPU:=1000}"

log() { echo "cluster.sh: $*" >&2; }

install_if_missing() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurmctld)
    command -v slurmd >/dev/null || missing+=(slurmd)
    command -v sbatch >/dev/null || missing+=(slurm-client)
    command -v munged >/dev/null || missing+=(munge)
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null; then
        log "apt-get unavailable; cannot install ${missing[*]}"
        exit 77
    fi
    log "installing slurm-wlm munge (missing: ${missing[*]})"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm munge >/dev/null
}

# The pid recorded for NAME, if that process is still the NAME we started.
live_pid() {
    local dir=$1 name=$2 pid
    pid=$(sed -n "s/^$name=//p" "$dir/pids" 2>/dev/null || true)
    [ -n "$pid" ] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
    echo "$pid"
}

# Wait for a daemon's pid file, record the pid in DIR/pids.
record_pid() {
    local dir=$1 name=$2 pidfile=$3 logfile=$4 pid=""
    for _ in $(seq 100); do
        pid=$(cat "$pidfile" 2>/dev/null || true)
        if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
            echo "$name=$pid" >>"$dir/pids"
            return 0
        fi
        sleep 0.1
    done
    log "$name did not start; its log:"
    tail -n 30 "$logfile" >&2 || true
    return 1
}

start_munged() {
    local dir=$1 m=$1/munge
    install -d -m 0755 -o munge -g munge "$m" # socket dir: x for all
    if [ ! -s "$m/munge.key" ]; then
        runuser -u munge -- mungekey --create --keyfile="$m/munge.key"
    fi
    runuser -u munge -- munged --socket="$m/munge.socket" --key-file="$m/munge.key" \
        --pid-file="$m/munged.pid" --log-file="$m/munged.log" \
        --seed-file="$m/munged.seed"
    record_pid "$dir" munged "$m/munged.pid" "$m/munged.log"
}

write_config() {
    local dir=$1 host node
    host=$(hostname -s)
    # CPUs, sockets, cores and RealMemory exactly as slurmd sees this machine.
    node=$(slurmd -C | sed -n 's/^NodeName=[^ ]* //p')
    cat >"$dir/slurm.conf" <<EOF
# Written by tests/slurm/cluster.sh: one node, loopback only.
ClusterName=gwreplaytest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$SLURMCTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# One line per finished job: the record of what Slurm itself ran.
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.log
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without a default, a job that asks for no memory takes the whole node.
DefMemPerCPU=$SLURM_DEF_MEM_PER_CPU
MinJobAge=$SLURM_MIN_JOB_AGE
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

wait_for_node() {
    local dir=$1
    for _ in $(seq 150); do
        if sinfo --noheader --states=idle,mixed,allocated -o %N 2>/dev/null | grep -q .; then
            return 0
        fi
        sleep 0.2
    done
    log "node never became idle; sinfo says:"
    sinfo -N -l >&2 || true
    tail -n 30 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    return 1
}

DEFAULT_CONF=/etc/slurm/slurm.conf

# srun inside jobs reads only the default path (see the header).
link_default_config() {
    local dir=$1
    if [ -L "$DEFAULT_CONF" ] && [ "$(readlink "$DEFAULT_CONF")" = "$dir/slurm.conf" ]; then
        return 0
    fi
    if [ -e "$DEFAULT_CONF" ] || [ -L "$DEFAULT_CONF" ]; then
        log "$DEFAULT_CONF exists (another Slurm configuration); not replacing it"
        exit 78
    fi
    mkdir -p "$(dirname "$DEFAULT_CONF")"
    ln -s "$dir/slurm.conf" "$DEFAULT_CONF"
}

unlink_default_config() {
    local dir=$1
    if [ -L "$DEFAULT_CONF" ] && [ "$(readlink "$DEFAULT_CONF")" = "$dir/slurm.conf" ]; then
        rm -f "$DEFAULT_CONF"
    fi
}

start() {
    local dir=$1
    install_if_missing
    if [ -s "$dir/pids" ]; then
        log "$dir/pids exists: stop that cluster first"
        exit 1
    fi
    mkdir -p "$dir"
    chmod 0755 "$dir"
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    : >"$dir/pids"
    write_config "$dir"
    link_default_config "$dir"
    export SLURM_CONF=$dir/slurm.conf
    start_munged "$dir"
    slurmctld -c -f "$SLURM_CONF"
    record_pid "$dir" slurmctld "$dir/slurmctld.pid" "$dir/log/slurmctld.log"
    slurmd -f "$SLURM_CONF"
    record_pid "$dir" slurmd "$dir/slurmd.pid" "$dir/log/slurmd.log"
    wait_for_node "$dir"
    echo "SLURM_CONF=$SLURM_CONF"
}

# Terminate recorded daemons together and wait for them to go (SIGKILL
# after 15 s). Each takes 1-2 s to shut down.
stop_daemons() {
    local dir=$1 name pid waiting=()
    shift
    for name in "$@"; do
        pid=$(live_pid "$dir" "$name") || continue
        kill -TERM "$pid" 2>/dev/null && waiting+=("$name:$pid")
    done
    for _ in $(seq 150); do
        local still=()
        for entry in "${waiting[@]}"; do
            [ "$(cat "/proc/${entry#*:}/comm" 2>/dev/null)" = "${entry%%:*}" ] && still+=("$entry")
        done
        waiting=("${still[@]}")
        [ ${#waiting[@]} -eq 0 ] && return 0
        sleep 0.1
    done
    for entry in "${waiting[@]}"; do
        log "${entry%%:*} (${entry#*:}) ignored SIGTERM; killing it"
        kill -KILL "${entry#*:}" 2>/dev/null || true
    done
}

stop() {
    local dir=$1
    [ -f "$dir/pids" ] || return 0
    export SLURM_CONF=$dir/slurm.conf
    if live_pid "$dir" slurmctld >/dev/null; then
        # Jobs first, so that no slurmstepd outlives the cluster.
        scancel --partition=debug 2>/dev/null || true
        for _ in $(seq 100); do
            squeue --noheader --states=running,completing,pending -o %i 2>/dev/null |
                grep -q . || break
            sleep 0.2
        done
    fi
    stop_daemons "$dir" slurmd slurmctld
    stop_daemons "$dir" munged
    unlink_default_config "$dir"
    rm -f "$dir/pids"
}

absolute() { case $1 in /*) echo "${1%/}" ;; *) echo "$PWD/${1%/}" ;; esac; }

case "${1:-}:${2:-}" in
start:?*) start "$(absolute "$2")" ;;
stop:?*) stop "$(absolute "$2")" ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
