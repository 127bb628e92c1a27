#!/usr/bin/env bash
# An emulated cluster on one machine: N network namespaces, one MPI rank in each, joined by
# veth pairs to a bridge (itself in a namespace of its own), every link shaped with tc.
#
#   scripts/netcluster.sh [-n RANKS] [-p PROFILE] [--rate-only] [-t SECONDS] -- PROGRAM [ARGS...]
#
# Profiles (each rank's egress): 1g-200us (1 Gbit/s, 200 us one way), 10g-20us (10 Gbit/s,
# 20 us), none (the veths as they are). Delay needs the kernel's netem qdisc; where it is
# missing the script exits 77, unless --rate-only, which shapes the rate alone (tbf) and says
# so. Open MPI runs one rank per namespace over its TCP transport, restricted to the bridge's
# subnet (10.77.0.0/24; addresses exist only inside the namespaces, there is no default
# route and no NAT), its daemons started in each namespace through this script as the
# launcher. Everything is removed on exit, failure or Ctrl-C. Exit 77 also where the machine
# refuses `ip netns` (no privilege). The run is bounded by -t (default 600 s).
set -euo pipefail

if [ "${1:-}" = "--rsh" ]; then  # launcher mode, called by mpirun: --rsh PREFIX HOST COMMAND...
  prefix="$2" host="$3"
  shift 3
  exec ip netns exec "$prefix-ns$((${host##*.} - 1))" /bin/sh -c "$*"
fi

ranks=2 profile=10g-20us rate_only=0 limit=600
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    -n) ranks="$2"; shift 2 ;;
    -p) profile="$2"; shift 2 ;;
    -t) limit="$2"; shift 2 ;;
    --rate-only) rate_only=1; shift ;;
    --) shift; break ;;
    -h | --help) usage ;;
    *) echo "netcluster: unknown option '$1'" >&2; usage ;;
  esac
done
[ $# -ge 1 ] || usage
case "$profile" in
  1g-200us) rate=1gbit delay=200us ;;
  10g-20us) rate=10gbit delay=20us ;;
  none) rate="" delay="" ;;
  *) echo "netcluster: unknown profile '$profile' (1g-200us, 10g-20us, none)" >&2; exit 2 ;;
esac
if ! [[ "$ranks" =~ ^[0-9]+$ ]] || [ "$ranks" -lt 1 ] || [ "$ranks" -gt 64 ]; then
  echo "netcluster: -n takes 1 to 64 ranks" >&2; exit 2
fi

prefix="ctnn$$"
work=$(mktemp -d)
cleanup() {
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$prefix-" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! ip netns add "$prefix-hub" 2>"$work/err"; then
  echo "netcluster: this machine refuses network namespaces ($(cat "$work/err")); run as root where ip netns works" >&2
  exit 77
fi
# A machine that allows namespaces may still refuse a step of the set-up (a container
# without some capability): that, too, is "cannot run here", not a failure of the program.
trap 'echo "netcluster: this machine refused a step of the set-up (line $LINENO): cannot emulate the cluster here" >&2; exit 77' ERR
ip netns exec "$prefix-hub" true
ip -n "$prefix-hub" link add br0 type bridge
ip -n "$prefix-hub" link set br0 up
shaping=(none)
if [ -n "$delay" ]; then
  if ip netns exec "$prefix-hub" tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
    ip netns exec "$prefix-hub" tc qdisc del dev lo root
    shaping=(netem delay "$delay" rate "$rate" limit 100000)
  elif [ "$rate_only" = 1 ]; then
    echo "netcluster: this kernel has no netem: links shaped to $rate only, with the veths' own latency (not $delay)" >&2
    shaping=(tbf rate "$rate" burst 256kb latency 100ms)
  else
    echo "netcluster: this kernel has no netem qdisc (sch_netem), so the $delay link delay cannot be emulated; --rate-only shapes the rate alone" >&2
    exit 77
  fi
fi
for i in $(seq 0 $((ranks - 1))); do
  ns="$prefix-ns$i"
  ip netns add "$ns"
  ip -n "$prefix-hub" link add "v$i" type veth peer name eth0 netns "$ns"
  ip -n "$prefix-hub" link set "v$i" master br0 up
  ip -n "$ns" addr add "10.77.0.$((i + 1))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  if [ "${shaping[0]}" != none ]; then ip netns exec "$ns" tc qdisc add dev eth0 root "${shaping[@]}"; fi
  echo "10.77.0.$((i + 1)) slots=1" >>"$work/hosts"
done
trap - ERR
echo "netcluster: $ranks ranks in namespaces $prefix-ns0..$((ranks - 1)), profile $profile (${shaping[*]})" >&2

# One rank per namespace, over TCP on the bridge only; the ranks yield while they wait, so
# the kernel's network processing runs (a spinning rank delays its own packets by a tick).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
set +e
timeout --kill-after=10 "$limit" ip netns exec "$prefix-ns0" mpirun -np "$ranks" --hostfile "$work/hosts" \
  --mca plm_rsh_agent "$(readlink -f "$0") --rsh $prefix" \
  --mca oob_tcp_if_include 10.77.0.0/24 --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 \
  --mca mpi_yield_when_idle 1 --mca osc pt2pt "$@"
rc=$?
set -e
[ $rc -eq 124 ] && echo "netcluster: the run passed its limit of $limit s" >&2
exit $rc
