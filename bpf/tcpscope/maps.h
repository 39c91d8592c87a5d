/* SPDX-License-Identifier: GPL-2.0 */
/* Configuration the agent sets before load, the per-socket records and every map.
 * Part of tcpscope.bpf.c, the one compilation unit: included there, in order. */
#ifndef __TCPSCOPE_MAPS_H
#define __TCPSCOPE_MAPS_H

/* Set by the agent before load. */
const volatile __u16 filter_family = 0; /* 0: both */
const volatile __u32 filter_netns = 0; /* 0: all */
/* only the namespaces in the netns_allow map, which the agent changes while running
 * (`tcpscope lab`: the namespaces of the run in progress) */
const volatile bool filter_netns_map = false;
/* with filter_netns, its cookie (0: unknown): a namespace made after it is gone can get its
 * inode number, never its cookie */
const volatile __u64 filter_netns_cookie = 0;
const volatile __u32 filter_pid = 0; /* 0: all */
const volatile bool filter_lports = false; /* ports map, slot 0 */
const volatile bool filter_dports = false; /* ports map, slot 1 */
/* Timer callbacks the timer tracepoints are matched against, from kallsyms. */
const volatile __u64 tw_timer_fn = 0; /* tw_timer_handler */
const volatile __u64 keepalive_timer_fn = 0; /* tcp_keepalive_timer */
const volatile __u64 ns_per_jiffy = 4000000; /* 1e9 / CONFIG_HZ */
const volatile bool emit_events = true; /* records on the ring buffer (watch) */
const volatile bool aggregate = false; /* the aggs map (stats, serve) */
/* watch --snapshot: the start-up walk (seed_sockets) writes a record of each socket it meets
 * to its own output, which the agent reads before any live event */
const volatile bool snapshot = false;
const volatile __u64 wakeup_bytes = 256 << 10; /* wake the agent from this much queued */
/* Benchmark only (TCPSCOPE_BENCH_HOOKS_ONLY, Documentation/perf.rst): every program returns
 * at once, which measures what attaching to these hooks costs by itself. Read-only data:
 * the verifier drops the test from the programs that run normally. */
const volatile bool hooks_only = false;
/* Tests only (TCPSCOPE_TEST_DROP_TW_EXITS, Documentation/tcpscope/testing.rst): every Nth
 * timewait exit is dropped, as a run the kernel skipped would drop it, so that the recount
 * that puts the gauges right is itself tested. 0 (always outside tests): the verifier drops
 * the test from on_tw_leave(). */
const volatile __u32 test_drop_tw_exits = 0;
__u64 test_tw_exits = 0;
/* libbpf_num_possible_cpus(): the per-CPU values a program may read of other CPUs */
const volatile __u32 nr_cpus = 1;
#define TCPSCOPE_MAX_CPUS 4096
/* Set by the agent before each recount (recount_sockets, reap_conn, reap_tw): the walk's
 * number, its start and the namespace walked. */
__u32 recount_gen = 0;
__u64 recount_start_ns = 0;
__u32 recount_netns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCPSCOPE_NETNS_ALLOW_MAX);
	__type(key, __u32); /* netns inode */
	__type(value, __u8);
} netns_allow SEC(".maps");

struct tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 pad;
};

/* In-kernel context of one socket, from first sight to its true end. */
struct conn {
	__u64 ts_first;
	__u64 ts_state; /* entered the current lifecycle state (0: unknown) */
	__u64 ts_raw; /* last tracepoint transition (0: unknown) */
	__u64 path;
	__u64 cgroup;
	__u64 sk; /* the full socket's address: reap_conn() looks there before it reaps */
	__u32 pid;
	__u32 facts;
	__u16 probes;
	__u8 path_len;
	__u8 state; /* current lifecycle state */
	__u8 open;
	__u8 segflags; /* TCP flags of the segment being processed in FIN_WAIT1 */
	__u8 owner_known;
	__u8 pending_syn; /* CLOSE->SYN_SENT waits for connect() to pick the local port */
	__u8 gauged; /* counted in aggs.sockets[state] */
	__u8 untracked; /* the per-CPU stand-in: table full */
	__u8 stats_known; /* stats was read (with emit_events only) */
	__u32 netns;
	__u32 seen; /* recount_gen of the last recount walk that met the socket */
	char comm[TCPSCOPE_COMM_LEN];
	struct tuple tuple; /* last known addresses: tcp_set_state(CLOSE) unhashes first */
	/* the full socket's counters at its last move to CLOSE (at the timewait handoff, the
	 * last time they can be read), or at its destruction */
	struct tcpscope_sock_stats stats;
};

struct owner {
	__u64 cgroup;
	__u32 pid;
	char comm[TCPSCOPE_COMM_LEN];
};

struct listen_key {
	__u32 netns;
	__u16 port;
	__u16 pad;
};

/* A timewait socket whose timer we saw armed. The aggregates of its last phase come from
 * here, not from the connection's record: without events (stats, serve) that record is
 * dropped at the handoff, so conns holds live connections only and stays small. */
struct twctx {
	__u64 cookie;
	__u64 ts_state; /* entered its current substate (0: unknown) */
	__u32 netns;
	__u16 lport;
	__u8 substate; /* TIME_WAIT, or FIN_WAIT2 for an orphaned FIN_WAIT2 */
	__u8 gauged; /* counted in aggs.sockets[substate] */
	__u8 known; /* its connection was tracked: ts_state, open and close are set */
	__u8 ported; /* counted in ports_agg: accepted on a listening port (on_tw_armed) */
	__u8 open; /* the connection's enum tcpscope_open and tcpscope_close, for aggs.conns */
	__u8 close;
	/* recount_gen when it was added, then of the last recount walk that met its socket: an
	 * entry of the walked namespace left older than the walk has no socket (reap_tw) */
	__u32 gen;
};

/* A keepalive timer running on this CPU: did it send a probe? */
struct kactx {
	__u64 timer;
	__u8 probes_out;
};

/* What a timewait socket's exit needs, read while the socket is still there: a kill is
 * only known as one at the next timer event (handle_timer_cancel), after the socket is
 * freed. */
struct twsnap {
	__u64 key; /* the timewait socket's address: the twctxs key */
	__u64 cookie;
	__u64 ts; /* when it left */
	__s64 left; /* its timer's expires - jiffies: dates a late FIN_WAIT2 -> TIME_WAIT */
	struct tuple tuple; /* only with emit_events */
	__u32 netns;
	__u16 lport;
	__u8 substate;
	__u8 cause;
	__u8 tracked;
};

/* A timewait timer detached on this CPU (timer_cancel) whose fate is not known yet. */
struct twcancel {
	__u64 timer; /* 0: none pending */
	struct twsnap snap;
};

struct port_set {
	__u64 bits[65536 / 64];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct listen_key);
	__type(value, struct owner);
} listeners SEC(".maps");

/* Sized by the agent before load from the namespaces' tcp_max_tw_buckets (tracer.cpp). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct twctx);
} twctxs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kactx);
} kactxs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct twcancel);
} twcancels SEC(".maps");

/* Passive children whose LISTEN->SYN_RECV came too early to be keyed (see on_state): socket
 * address -> time of that transition. Not an LRU: an eviction would lose an event without a
 * word; a full table is counted (TCPSCOPE_CNT_EMBRYO_FULL). Each entry goes at the child's next
 * transition (ESTABLISHED, or CLOSE from tcp_done() on every failure path). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u64);
} embryos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct port_set);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCPSCOPE_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Timewait sockets that found twctxs full (address -> cookie), so that a later re-arm (an
 * orphan's FIN_WAIT2 -> TIME_WAIT) is not taken for a new one and counted twice. Touched only
 * once twctxs has been full (tw_overflowed). An LRU: should more than this many be untracked
 * at once, an evicted one re-armed later is counted again (entered and untracked). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} tw_untracked SEC(".maps");

__u32 tw_overflowed = 0;

/* A mark on a socket met with the conns table full: it is counted once and stays untracked
 * for life (no record appears for it later, so no summary is printed for a connection
 * counted as untracked). Touched only when conns is full. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u8);
} untracked_sks SEC(".maps");

/* Stand-in record when the connection table is full, so events still flow. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct conn);
} scratch SEC(".maps");

/* watch --snapshot: the record being written by the start-up walk (too big for its stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcpscope_sock_event);
} snapbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

/* Aggregates per netns inode; entries made on first use (from agg_zero). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tcpscope_agg);
} aggs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcpscope_agg);
} agg_zero SEC(".maps");

/* Not an LRU: an eviction would lose a port's TIME_WAIT gauge without a word; a full table is
 * counted (TCPSCOPE_CNT_PORTS_FULL). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tcpscope_port_key);
	__type(value, struct tcpscope_port_agg);
} ports_agg SEC(".maps");

#endif /* __TCPSCOPE_MAPS_H */
