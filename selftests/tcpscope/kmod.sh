#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tcpscope.ko as a whole: 100 load/unload cycles under loopback churn with a clean dmesg and
# no per-CPU memory leaked; mirrored values given back at unload (or kept when asked, or
# when someone else changed them since); exact transition counts for one connection; and
# /proc/net/tcpscope/states equal to `ss -tan` and /proc/net/sockstat; and the delayed-ACK
# knobs (delack_max_ms, quickack, ack_ports) measured on the wire. KTAP output.
# The module comes from modules/<release>/tcpscope.ko beside this script or $TCPSCOPE_KO.
dir=$(dirname "$(readlink -f "$0")")
. "$dir/ktap.sh"
ko=${TCPSCOPE_KO:-$dir/modules/$(uname -r)/tcpscope.ko}
FIN=/proc/sys/net/ipv4/tcp_fin_timeout
TFO=/proc/sys/net/ipv4/tcp_fastopen
KNOBS=/proc/sys/net/tcpscope
ns=tsk$$

# Without the module the test skips with the reason, or fails where the test bed built it for
# this kernel and says so with TCPSCOPE_KMOD_REQUIRED=1 (the VM suites).
no_module() {
	[ "${TCPSCOPE_KMOD_REQUIRED:-}" = 1 ] &&
		ktap_bail_out "tcpscope.ko is required here (TCPSCOPE_KMOD_REQUIRED=1): $*"
	ktap_skip_all "$*"
}
[ "$(id -u)" -eq 0 ] || ktap_skip_all "needs root"
[ -e /proc/modules ] || no_module "kernel without loadable module support"
[ -r "$ko" ] || no_module "no tcpscope.ko for $(uname -r) at $ko" \
	"(make kmod builds it from linux-headers-$(uname -r); or set TCPSCOPE_KO)"

fail() { echo "# FAIL: $*"; return 1; }
load() { grep -q '^tcpscope ' /proc/modules || insmod "$ko"; }
unload() { ! grep -q '^tcpscope ' /proc/modules || rmmod tcpscope; }
cleanup() {
	[ -n "${churn:-}" ] && kill "$churn" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	unload
	echo "$fin0" >$FIN
	echo "$tfo0" >$TFO
}
trap cleanup EXIT
fin0=$(cat $FIN) tfo0=$(cat $TFO)
unload

fresh_ns() { # the test namespace $ns, new, with lo up
	ip netns del "$ns" 2>/dev/null
	ip netns add "$ns" && ip -n "$ns" link set lo up
}
fresh_ns

knob() { # NAME VALUE: written in $ns
	ip netns exec "$ns" sh -c "echo $2 >$KNOBS/$1"
}

# Connections opened and closed on loopback as fast as python can, until killed.
churn_start() {
	ip netns exec "$ns" python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
while True:
    c = socket.create_connection(s.getsockname()); a, _ = s.accept()
    c.close(); a.close()
' &
	churn=$!
}

kernel_trouble() { # dmesg lines after line $1 that mean the kernel is unhappy
	dmesg | tail -n +"$(($1 + 1))" |
		grep -E 'WARNING:|BUG:|Oops|general protection|refcount_t|list_(add|del) corruption|leak'
}

percpu_kb() { awk '/^Percpu:/ { print $2 }' /proc/meminfo; }

load_unload_100_under_churn() {
	local before pcpu0 pcpu1 i
	before=$(dmesg | wc -l)
	churn_start
	load && unload || return 1  # the first load may allocate for good (module memory)
	pcpu0=$(percpu_kb)
	for i in $(seq 100); do
		load || fail "insmod #$i" || return 1
		# quick-ACK sockets are live in the set when the module goes
		knob quickack 1 || fail "quickack #$i" || return 1
		cat /proc/net/tcpscope/transitions /proc/net/tcpscope/states \
			/proc/net/tcpscope/counters >/dev/null ||
			fail "reading /proc/net/tcpscope #$i" || return 1
		unload || fail "rmmod #$i" || return 1
	done
	pcpu1=$(percpu_kb)
	kill "$churn"; wait "$churn" 2>/dev/null; churn=
	echo "# per-CPU memory ${pcpu0} kB before, ${pcpu1} kB after 100 cycles"
	[ -z "$(kernel_trouble "$before")" ] || { kernel_trouble "$before" | sed 's/^/# /'; return 1; }
	# each cycle allocates 16x16 counters per CPU per netns: a leak would show at once
	[ "$((pcpu1 - pcpu0))" -lt 64 ] || fail "per-CPU memory grew by $((pcpu1 - pcpu0)) kB"
}

unload_restores_changed_values() {
	load
	echo 17 >$KNOBS/fin_timeout && echo 0x401 >$KNOBS/fastopen || return 1
	[ "$(cat $FIN) $(cat $TFO)" = "17 1025" ] || fail "write did not reach the kernel" || return 1
	knob fin_timeout 9 || return 1
	unload
	[ "$(cat $FIN) $(cat $TFO)" = "$fin0 $tfo0" ] ||
		fail "after unload: $(cat $FIN) $(cat $TFO), want $fin0 $tfo0"
}

fin_after_unload() { # WANT WHY: unload, check tcp_fin_timeout, put the original back
	local got
	unload
	got=$(cat $FIN)
	echo "$fin0" >$FIN
	[ "$got" = "$1" ] || fail "fin_timeout $got after unload, want $1 ($2)"
}

restore_on_unload_0_keeps_values() {
	load
	echo 23 >$KNOBS/fin_timeout && echo 0 >$KNOBS/restore_on_unload || return 1
	fin_after_unload 23 "kept"
}

unload_leaves_values_changed_by_others() {
	load
	echo 25 >$KNOBS/fin_timeout && echo 26 >$FIN || return 1
	fin_after_unload 26 "not ours"
}

# One connection in a fresh netns: every full-socket transition counted exactly once.
transitions_of_one_connection() {
	local got want
	load
	fresh_ns
	ip netns exec "$ns" python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
c.close(); a.recv(1); a.close(); s.close()
' || return 1
	want="CLOSE LISTEN 1
CLOSE SYN_SENT 1
CLOSE_WAIT LAST_ACK 1
ESTABLISHED CLOSE_WAIT 1
ESTABLISHED FIN_WAIT1 1
FIN_WAIT1 FIN_WAIT2 1
FIN_WAIT2 CLOSE 1
LAST_ACK CLOSE 1
LISTEN CLOSE 1
LISTEN SYN_RECV 1
SYN_RECV ESTABLISHED 1
SYN_SENT ESTABLISHED 1"
	got=$(ip netns exec "$ns" grep -v '^#' /proc/net/tcpscope/transitions | LC_ALL=C sort)
	[ "$got" = "$want" ] || { echo "$got" | sed 's/^/# got: /'; return 1; }
}

# Sockets left in several states, some made before the module loaded: the states file
# equals ss -tan per state and sockstat's tw, and the exact numbers the workload implies.
states_equal_ss_and_sockstat() {
	unload
	fresh_ns
	ip netns exec "$ns" python3 - "$ko" "$dir" <<'EOF'
import socket, subprocess, sys, time
sys.path.insert(0, sys.argv[2])
from tcpscope_lib import sockstat_tw, ss_counts
def pair(srv):
    c = socket.create_connection(srv.getsockname()); a, _ = srv.accept(); return c, a
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
keep = [srv]
keep += pair(srv)                      # 2 ESTABLISHED, made before the module loads
subprocess.run(["insmod", sys.argv[1]], check=True)
keep += pair(srv)                      # 2 more ESTABLISHED
c, a = pair(srv); c.shutdown(socket.SHUT_WR); keep += [c, a]   # FIN_WAIT2 + CLOSE_WAIT
for _ in range(3):                     # 3 TIME_WAIT
    c, a = pair(srv); c.close(); a.recv(1); a.close()
deadline = time.time() + 5
want = {"LISTEN": 1, "ESTABLISHED": 4, "FIN_WAIT2": 1, "CLOSE_WAIT": 1, "TIME_WAIT": 3}
while True:
    with open("/proc/net/tcpscope/states") as f:
        ours = dict((k, int(v)) for k, v in (l.split() for l in f))
    ss, tw = ss_counts(), sockstat_tw()
    states = {k: v for k, v in ours.items() if k != "tw_sockets" and v}
    if (states, ours["tw_sockets"]) == (ss, tw) == (want, 3) or time.time() > deadline:
        break
    time.sleep(0.05)
print("# tcpscope %s tw_sockets %d" % (states, ours["tw_sockets"]))
print("# ss -tan  %s sockstat tw %d" % (ss, tw))
sys.exit(0 if (states, ours["tw_sockets"]) == (ss, tw) == (want, 3) else 1)
EOF
}

# The server's delayed ACK of a request, measured on the wire (AF_PACKET on lo, kernel
# timestamps) in a fresh netns: about 40 ms (TCP_ATO_MIN) by default, at most the cap with
# delack_max_ms=12. Each round the server asks for a delayed ACK (TCP_QUICKACK 0) and answers
# 300 ms later, so the ACK goes out alone when the delayed-ACK timer fires.
delack_delay_ms() { # [PORT]: prints the median delay of the server's pure ACKs, then each of 5
	ip netns exec "$ns" python3 - "${1:-0}" <<'EOF'
import socket, struct, sys, threading, time
SO_TIMESTAMPNS = 35
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
cap.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
cap.bind(("lo", 0))
cap.settimeout(0.1)
srv = socket.socket(); srv.bind(("127.0.0.1", int(sys.argv[1]))); srv.listen()
port = srv.getsockname()[1]
c = socket.create_connection(("127.0.0.1", port)); a, _ = srv.accept()
pkts, done = [], threading.Event()
def capture():
    while not done.is_set():
        try:
            data, anc, _, addr = cap.recvmsg(65535, 64)
        except socket.timeout:
            continue
        if addr[2] != socket.PACKET_OUTGOING or len(data) < 14 + 20 or data[14 + 9] != 6:
            continue
        sec, nsec = struct.unpack("qq", anc[0][2][:16])
        ip = data[14:]
        ihl, tot = (ip[0] & 15) * 4, struct.unpack("!H", ip[2:4])[0]
        sp, dp = struct.unpack("!HH", ip[ihl:ihl + 4])
        payload = tot - ihl - (ip[ihl + 12] >> 4) * 4
        pkts.append((sec + nsec / 1e9, sp, dp, payload))
t = threading.Thread(target=capture); t.start()
time.sleep(0.2)
for _ in range(5):
    a.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
    c.send(b"q"); a.recv(1)
    time.sleep(0.3)
    a.send(b"r"); c.recv(1)
time.sleep(0.1); done.set(); t.join()
delays, req = [], None
for ts, sp, dp, payload in pkts:
    if dp == port and payload:
        req = ts
    elif sp == port and req is not None:
        if not payload:
            delays.append((ts - req) * 1000)
        req = None
delays.sort()
print("%.1f %s" % (delays[len(delays) // 2] if len(delays) == 5 else -1,
                   " ".join("%.1f" % d for d in delays)))
EOF
}

# The delayed ACK in a fresh netns by default, then with KNOB=VALUE: sets $def and $with.
delack_default_and_with() { # KNOB VALUE
	load
	fresh_ns
	def=$(delack_delay_ms) || return 1
	knob "$1" "$2" || return 1
	with=$(delack_delay_ms) || return 1
	echo "# delayed ACK (median, then each of 5): default ${def} ms; $1=$2: ${with} ms"
}

median_in() { # DELAYS MIN [MAX]: the median (DELAYS' first field) is within MIN..MAX ms
	awk -v m="${1%% *}" -v lo="$2" -v hi="${3:-}" 'BEGIN { exit !(m >= lo && (hi == "" || m <= hi)) }'
}

delack_max_ms_shortens_delayed_ack() {
	delack_default_and_with delack_max_ms 12 || return 1
	median_in "$def" 36 && median_in "$with" 0 20
}

counter() { ip netns exec "$ns" awk -v k="$1" '$1 == k { print $2 }' /proc/net/tcpscope/counters; }

# quickack=1: the server ACKs the request at once although it asked to delay (TCP_QUICKACK
# 0); both ends of the one connection are quick-ACK sockets.
quickack_acks_at_once() {
	delack_default_and_with quickack 1 || return 1
	[ "$(counter quickack_applied) $(counter quickack_failed)" = "2 0" ] ||
		fail "quickack_applied $(counter quickack_applied), failed $(counter quickack_failed), want 2 0" ||
		return 1
	median_in "$def" 36 && median_in "$with" 0 5
}

# ack_ports limits quickack (and delack_max_ms) to connections with a listed port: a
# server on 5001 keeps its delayed ACK with ack_ports=5002 and loses it with 5001.
ack_ports_limits_the_knobs() {
	local other listed
	load
	fresh_ns
	knob quickack 1 && knob ack_ports 5002 || return 1
	other=$(delack_delay_ms 5001) || return 1
	[ "$(counter quickack_applied)" = 0 ] || fail "applied to port 5001 with ack_ports=5002" ||
		return 1
	knob ack_ports 5001 || return 1
	listed=$(delack_delay_ms 5001) || return 1
	echo "# delayed ACK on port 5001 (median, then each of 5): ack_ports=5002 ${other} ms; ack_ports=5001 ${listed} ms"
	[ "$(counter quickack_applied)" = 2 ] || fail "quickack_applied $(counter quickack_applied), want 2" ||
		return 1
	median_in "$other" 36 && median_in "$listed" 0 5
}

ktap_run load_unload_100_under_churn unload_restores_changed_values \
	restore_on_unload_0_keeps_values unload_leaves_values_changed_by_others \
	transitions_of_one_connection states_equal_ss_and_sockstat \
	delack_max_ms_shortens_delayed_ack quickack_acks_at_once ack_ports_limits_the_knobs
