// SPDX-License-Identifier: GPL-2.0
/* tcpscope's kernel side: every TCP state change from sock:inet_sock_set_state, plus the
 * TIME_WAIT handoff/exit and keepalive probes the tracepoint never shows, folded into one
 * per-connection record (keyed by socket cookie) and streamed over a ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcpscope.h"

/* #defines, so not in vmlinux.h */
#define AF_INET 2
#define AF_INET6 10
#define ETIMEDOUT 110
#define ECONNABORTED 103
#define EEXIST 17
#define E2BIG 7
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04

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
/* Set by the agent before each recount (recount_sockets, reap_conn): the walk's number, its
 * start and the namespace walked. */
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

struct inet_connection_sock___ka {
	struct timer_list icsk_keepalive_timer;
} __attribute__((preserve_access_index));

/* ns_common.count became __ns_ref in 6.18: both spelled out, whatever vmlinux.h says */
struct ns_common___old {
	refcount_t count;
} __attribute__((preserve_access_index));

struct ns_common___new {
	refcount_t __ns_ref;
} __attribute__((preserve_access_index));

/*
 * Every per-CPU value is changed by an atomic add, never a plain read-modify-write: the
 * kernel only keeps a program from nesting in itself on a CPU, so two different programs do
 * run on one CPU at once (a softirq's timer or state-change program interrupting a task's,
 * either interrupting an iterator), and the interrupted one's store would undo the other's.
 * Uncontended on its own CPU's line, the lock prefix costs a few cycles.
 */
#define pcpu_add(var, d) __sync_fetch_and_add(&(var), (d))

static __always_inline void counter_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		pcpu_add(*v, 1);
}

/* A socket the gauges of its netns cannot follow: counted by reason and in the netns' own
 * aggregates, so its gauges say by how much they may be short. */
static __always_inline void gauge_lost(struct tcpscope_agg *a, __u32 reason)
{
	counter_inc(reason);
	if (a)
		pcpu_add(a->untracked, 1);
}

/*
 * Reading a socket. A full socket handed over by a tp_btf tracepoint is a trusted BTF
 * pointer: plain loads, which the JIT turns into guarded loads with no helper call. A
 * timewait socket is reached by pointer arithmetic from its timer, which the verifier
 * cannot type: probe reads (BPF_CORE_READ). Every reader takes `direct` as a constant, so
 * each call site compiles to one of the two.
 */
static __always_inline __u32 skc_netns(const struct sock_common *skc, const bool direct)
{
	if (direct)
		return skc->skc_net.net->ns.inum;
	return BPF_CORE_READ(skc, skc_net.net, ns.inum);
}

static __always_inline __u16 skc_family(const struct sock_common *skc, const bool direct)
{
	return direct ? skc->skc_family : BPF_CORE_READ(skc, skc_family);
}

static __always_inline __u16 skc_lport(const struct sock_common *skc, const bool direct)
{
	return direct ? skc->skc_num : BPF_CORE_READ(skc, skc_num);
}

static __always_inline struct tcpscope_agg *agg_of_ns(__u32 netns)
{
	struct tcpscope_agg *a, *zero;
	__u32 idx = 0;

	if (!aggregate)
		return NULL;
	a = bpf_map_lookup_elem(&aggs, &netns);
	if (a)
		return a;
	zero = bpf_map_lookup_elem(&agg_zero, &idx);
	if (!zero)
		return NULL;
	bpf_map_update_elem(&aggs, &netns, zero, BPF_NOEXIST);
	a = bpf_map_lookup_elem(&aggs, &netns);
	if (!a)
		counter_inc(TCPSCOPE_CNT_AGG_FULL);
	return a;
}

static __always_inline struct tcpscope_agg *agg_of(const struct sock_common *skc, const bool direct)
{
	return aggregate ? agg_of_ns(skc_netns(skc, direct)) : NULL;
}

static __always_inline __u32 log2_slot(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 slot = 0;

	/* slot i holds [2^(i-1), 2^i) us; bounded loop */
	for (int i = 0; i < TCPSCOPE_HIST_SLOTS - 1; i++) {
		if (!us)
			break;
		us >>= 1;
		slot++;
	}
	return slot;
}

/* A lifecycle transition; dur_ns is the time spent in old (~0: unknown). a: agg_of() of
 * the socket, looked up once per event. */
static __always_inline void agg_transition(struct tcpscope_agg *a, __u8 old, __u8 new, __u64 dur_ns)
{
	if (!a)
		return;
	old &= TCPSCOPE_NSTATES - 1;
	new &= TCPSCOPE_NSTATES - 1;
	pcpu_add(a->transitions[old][new], 1);
	if (dur_ns != ~0ULL) {
		pcpu_add(a->time_hist[old][log2_slot(dur_ns) & (TCPSCOPE_HIST_SLOTS - 1)], 1);
		pcpu_add(a->time_sum_ns[old], dur_ns);
	}
}

/* A connection ended. */
static __always_inline void agg_conn(struct tcpscope_agg *a, __u32 open, __u32 close)
{
	__u32 i;

	if (!a || open >= TCPSCOPE_NOPEN || close >= TCPSCOPE_NCLOSE)
		return;
	/* one index, checked where it is used: clang spills open and close between their
	 * checks and the access, and the verifier loses the bounds through the spill */
	i = open * TCPSCOPE_NCLOSE + close;
	barrier_var(i);
	if (i < TCPSCOPE_NOPEN * TCPSCOPE_NCLOSE)
		pcpu_add((&a->conns[0][0])[i], 1);
}

/* A listener on this local port is known (seen opening, or by the start-up walk). */
static __always_inline bool listening(__u32 netns, __u16 port)
{
	struct listen_key key = { .netns = netns, .port = port };

	return bpf_map_lookup_elem(&listeners, &key);
}

/* A socket counted in sockets[] moves from one state to another; CLOSE is not counted
 * (ss does not list closed sockets), 0 means none. */
static __always_inline void agg_gauge(struct tcpscope_agg *a, __u8 from, __u8 to)
{
	if (!a)
		return;
	if (from && from != TCP_CLOSE)
		pcpu_add(a->sockets[from & (TCPSCOPE_NSTATES - 1)], -1);
	if (to && to != TCP_CLOSE)
		pcpu_add(a->sockets[to & (TCPSCOPE_NSTATES - 1)], 1);
}

/* A timewait socket counted in sockets[] changes substate (0: none). Its namespace's orphans
 * tell the agent where a late FIN_WAIT2 -> TIME_WAIT may hide (recount_sockets). */
static __always_inline void tw_gauge(struct tcpscope_agg *a, __u8 from, __u8 to)
{
	if (!a)
		return;
	agg_gauge(a, from, to);
	if (from == TCP_FIN_WAIT2)
		pcpu_add(a->tw_orphans, -1);
	if (to == TCP_FIN_WAIT2)
		pcpu_add(a->tw_orphans, 1);
}

/* Per CPU: the one port of a busy server would bounce between CPUs otherwise. */
static __always_inline struct tcpscope_port_agg *port_agg(__u32 netns, __u16 port)
{
	struct tcpscope_port_key key = { .netns = netns, .port = port };
	struct tcpscope_port_agg zero = {}, *p;

	if (!aggregate)
		return NULL;
	p = bpf_map_lookup_elem(&ports_agg, &key);
	if (p)
		return p;
	bpf_map_update_elem(&ports_agg, &key, &zero, BPF_NOEXIST);
	p = bpf_map_lookup_elem(&ports_agg, &key);
	if (!p)
		counter_inc(TCPSCOPE_CNT_PORTS_FULL);
	return p;
}

/* A timewait socket counted (+1) or gone (-1) on its local port. */
static __always_inline void port_timewait(__u32 netns, __u16 port, __s64 d)
{
	struct tcpscope_port_agg *p = port_agg(netns, port);

	if (p)
		pcpu_add(p->timewait, d);
}

/* A full socket's connection moves to state (after enter_state): keep its gauge. */
static __always_inline void conn_gauge(struct tcpscope_agg *a, struct conn *c, __u8 prev)
{
	if (c->untracked)
		return;
	agg_gauge(a, c->gauged ? prev : 0, c->state);
	c->gauged = 1;
}

static __always_inline bool port_in(__u32 slot, __u16 port)
{
	struct port_set *set = bpf_map_lookup_elem(&ports, &slot);

	if (!set)
		return false;
	return set->bits[(port >> 6) & 1023] & (1ULL << (port & 63));
}

static __always_inline bool ports_wanted(const struct tuple *t)
{
	if (filter_lports && !port_in(0, t->sport))
		return false;
	if (filter_dports && !port_in(1, t->dport))
		return false;
	return true;
}

/* Emission filters: the connection is still tracked, only the copy is saved. */
static __always_inline bool wanted(const struct tuple *t, const struct conn *c)
{
	if (filter_pid && (!c || c->pid != filter_pid))
		return false;
	return ports_wanted(t);
}

/* Family and netns filters drop a socket before any state is kept for it. */
static __always_inline bool tracked(const struct sock_common *skc, const bool direct)
{
	__u16 family = skc_family(skc, direct);

	if (family != AF_INET && family != AF_INET6)
		return false;
	if (filter_family && family != filter_family)
		return false;
	if (filter_netns && skc_netns(skc, direct) != filter_netns)
		return false;
	if (filter_netns_map) {
		__u32 ns = skc_netns(skc, direct);

		if (!bpf_map_lookup_elem(&netns_allow, &ns))
			return false;
	}
	if (filter_netns_cookie &&
	    (direct ? skc->skc_net.net->net_cookie : BPF_CORE_READ(skc, skc_net.net, net_cookie)) !=
		    filter_netns_cookie)
		return false;
	return true;
}

static __always_inline void path_push(struct conn *c, __u8 state)
{
	__u8 n = c->path_len;

	if (n >= TCPSCOPE_PATH_MAX) {
		c->facts |= TCPSCOPE_F_PATH_TRUNC;
		return;
	}
	c->path |= ((__u64)(state & 0xf)) << (n * 4);
	c->path_len = n + 1;
}

static __always_inline void owner_from_current(struct conn *c)
{
	c->pid = bpf_get_current_pid_tgid() >> 32;
	c->cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(c->comm, sizeof(c->comm));
	c->owner_known = 1;
}

static __always_inline void read_tuple(const struct sock_common *skc, struct tuple *t,
				       const bool direct)
{
	t->family = skc_family(skc, direct);
	t->sport = skc_lport(skc, direct);
	if (direct) {
		t->dport = bpf_ntohs(skc->skc_dport);
		if (t->family == AF_INET) {
			*(__u32 *)t->saddr = skc->skc_rcv_saddr;
			*(__u32 *)t->daddr = skc->skc_daddr;
		} else {
			__builtin_memcpy(t->saddr, &skc->skc_v6_rcv_saddr, 16);
			__builtin_memcpy(t->daddr, &skc->skc_v6_daddr, 16);
		}
		return;
	}
	t->dport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	if (t->family == AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)t->saddr, skc, skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)t->daddr, skc, skc_daddr);
	} else {
		BPF_CORE_READ_INTO((struct in6_addr *)t->saddr, skc, skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO((struct in6_addr *)t->daddr, skc, skc_v6_daddr);
	}
}

/* The socket's addresses t, or the connection's last known ones once the local port is
 * released (CLOSE) - so every event of a connection names the same 4-tuple. */
static __always_inline void conn_tuple(struct conn *c, struct tuple *t)
{
	if (!c)
		return;
	if (t->sport)
		c->tuple = *t;
	else if (c->tuple.sport)
		*t = c->tuple;
}

/* The fields every record has, in a zeroed one. */
static __always_inline void ev_fill(struct tcpscope_event *e, const struct tuple *t, __u32 netns,
				    const struct conn *c, __u64 cookie, __u8 type, __u64 now)
{
	e->type = type;
	e->ts_ns = now;
	e->cookie = cookie;
	e->family = t->family;
	e->sport = t->sport;
	e->dport = t->dport;
	__builtin_memcpy(e->saddr, t->saddr, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, t->daddr, sizeof(e->daddr));
	e->netns = netns;
	if (c && c->owner_known) {
		e->pid = c->pid;
		e->cgroup = c->cgroup;
		__builtin_memcpy(e->comm, c->comm, sizeof(e->comm));
	} else {
		e->flags |= TCPSCOPE_EVF_NO_OWNER;
	}
}

/* A record of size bytes (a struct tcpscope_event, or a struct tcpscope_sock_event that
 * starts with one) for the socket whose addresses are *t (conn_tuple() not applied yet),
 * zeroed but for the event's common fields. */
static __always_inline struct tcpscope_event *ev_reserve(struct tuple *t, __u32 netns,
							 struct conn *c, __u64 cookie, __u8 type,
							 __u64 now, const __u32 size)
{
	struct tcpscope_event *e;

	if (!emit_events)
		return NULL;
	conn_tuple(c, t);
	if (!wanted(t, c)) {
		counter_inc(TCPSCOPE_CNT_FILTERED);
		return NULL;
	}
	e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e) {
		counter_inc(TCPSCOPE_CNT_LOST);
		if (type == TCPSCOPE_EV_CONN)
			counter_inc(TCPSCOPE_CNT_LOST_SUMMARY);
		return NULL;
	}
	__builtin_memset(e, 0, size);
	ev_fill(e, t, netns, c, cookie, type, now);
	return e;
}

/* A struct tcpscope_event for the socket whose addresses are *t. */
static __always_inline struct tcpscope_event *
ev_new_at(struct tuple *t, __u32 netns, struct conn *c, __u64 cookie, __u8 type, __u64 now)
{
	return ev_reserve(t, netns, c, cookie, type, now, sizeof(struct tcpscope_event));
}

static __always_inline struct tcpscope_event *ev_new(const struct sock_common *skc,
						     const bool direct, struct conn *c,
						     __u64 cookie, __u8 type, __u64 now)
{
	struct tuple t = {};

	if (!emit_events)
		return NULL;
	read_tuple(skc, &t, direct);
	return ev_new_at(&t, skc_netns(skc, direct), c, cookie, type, now);
}

/* The agent is woken once a batch is waiting, not for each record: a wakeup costs an
 * irq_work self-interrupt per record once the agent keeps up. It also drains the ring on
 * a short timer, which bounds the latency of a quiet stream. */
static __always_inline void ev_submit(struct tcpscope_event *e)
{
	__u64 queued = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, queued >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	counter_inc(TCPSCOPE_CNT_EVENTS);
}

/* Lifecycle transition: time in the previous state, path, timestamps. */
static __always_inline __u64 enter_state(struct conn *c, __u8 state, __u64 now, __u16 *flags)
{
	__u64 dur = 0;

	if (c->ts_state)
		dur = now - c->ts_state;
	else
		*flags |= TCPSCOPE_EVF_NO_DUR;
	c->ts_state = now;
	c->state = state;
	path_push(c, state);
	return dur;
}

/* The connection's summary at its true end; a: agg_of() its socket, t: its addresses. */
static __always_inline void emit_conn(struct tcpscope_agg *a, struct tuple *t, __u32 netns,
				      struct conn *c, __u64 cookie, __u64 now)
{
	struct tcpscope_sock_event *r;
	struct tcpscope_event *e;

	if (c->facts & TCPSCOPE_F_LISTENER)
		return;
	agg_conn(a, c->open, tcpscope_classify_close(c->facts, c->probes));
	e = ev_reserve(t, netns, c, cookie, TCPSCOPE_EV_CONN, now, sizeof(*r));
	if (!e)
		return;
	r = (struct tcpscope_sock_event *)e;
	if (c->stats_known)
		r->stats = c->stats;
	else
		e->flags |= TCPSCOPE_EVF_NO_STATS;
	e->facts = c->facts;
	e->path = c->path;
	e->path_len = c->path_len;
	e->probes = c->probes;
	e->lifetime_ns = now - c->ts_first;
	e->open = c->open;
	e->handshake = tcpscope_classify_handshake(c->facts);
	e->close = tcpscope_classify_close(c->facts, c->probes);
	if (!(c->open))
		e->flags |= TCPSCOPE_EVF_NO_DUR;
	ev_submit(e);
}

static __always_inline struct conn *conn_lookup(__u64 cookie)
{
	return cookie ? bpf_map_lookup_elem(&conns, &cookie) : NULL;
}

static __always_inline void read_fastopen_facts(const struct sock *sk, struct conn *c)
{
	/* the verifier types sk as struct sock: this helper makes it a tcp_sock */
	const struct tcp_sock *tp = bpf_skc_to_tcp_sock((void *)sk);

	if (!tp)
		return;
	if (BPF_CORE_READ_BITFIELD(tp, syn_data))
		c->facts |= TCPSCOPE_F_SYN_DATA;
	if (BPF_CORE_READ_BITFIELD(tp, syn_data_acked))
		c->facts |= TCPSCOPE_F_SYN_DATA_ACKED;
}

/* What tcp_get_info() reports as tcpi_bytes_acked, tcpi_bytes_received, tcpi_segs_out,
 * tcpi_segs_in, tcpi_total_retrans and tcpi_rtt. tp is a BTF pointer (bpf_skc_to_tcp_sock()):
 * plain loads, relocated by CO-RE like BPF_CORE_READ; every field is in 6.1 already. */
static __always_inline void read_sock_stats(const struct tcp_sock *tp,
					    struct tcpscope_sock_stats *s)
{
	s->bytes_acked = tp->bytes_acked;
	s->bytes_received = tp->bytes_received;
	s->segs_out = tp->segs_out;
	s->segs_in = tp->segs_in;
	s->total_retrans = tp->total_retrans;
	s->srtt_us = tp->srtt_us >> 3;
}

/* The connection's counters as they are now, kept for its summary (watch only). */
static __always_inline void conn_stats(const struct sock *sk, struct conn *c)
{
	const struct tcp_sock *tp;

	if (!emit_events)
		return;
	tp = bpf_skc_to_tcp_sock((void *)sk);
	if (!tp)
		return;
	read_sock_stats(tp, &c->stats);
	c->stats_known = 1;
}

/* The SYN_SENT event waits for connect() to hash the socket: only then is the local port
 * known (tcp_v4_connect() sets SYN_SENT before inet_hash_connect()). */
static __always_inline void flush_pending_syn(const struct sock *sk, struct conn *c, __u64 cookie)
{
	struct tcpscope_event *e;

	if (!c->pending_syn)
		return;
	c->pending_syn = 0;
	e = ev_new(&sk->__sk_common, true, c, cookie, TCPSCOPE_EV_STATE, c->ts_state);
	if (!e)
		return;
	e->old_state = TCP_CLOSE;
	e->new_state = TCP_SYN_SENT;
	e->flags |= TCPSCOPE_EVF_NO_DUR;
	ev_submit(e);
}

static __always_inline struct conn *conn_new(const struct sock *sk, __u64 cookie, int old, int new,
					     __u64 now)
{
	struct conn zero = {}, *c;
	__u32 idx = 0;

	zero.ts_first = now;
	zero.netns = skc_netns(&sk->__sk_common, true);
	path_push(&zero, old);
	if (old == TCP_CLOSE && new == TCP_SYN_SENT) {
		/* connect(): process context, current is the owner */
		zero.open = TCPSCOPE_OPEN_ACTIVE;
		zero.facts |= TCPSCOPE_F_SEEN_OPEN;
		owner_from_current(&zero);
	} else if (old == TCP_LISTEN && new == TCP_CLOSE) {
		/* a listener that predates tcpscope: no summary */
		zero.facts |= TCPSCOPE_F_LISTENER;
	} else if (old == TCP_CLOSE && new == TCP_LISTEN) {
		zero.facts |= TCPSCOPE_F_LISTENER;
		owner_from_current(&zero);
	} else if (old == TCP_LISTEN && new == TCP_SYN_RECV) {
		/* a child made in softirq: it inherits the listener's owner (no accept() hook) */
		struct listen_key key = { .netns = skc_netns(&sk->__sk_common, true),
					  .port = sk->__sk_common.skc_num };
		struct owner *o = bpf_map_lookup_elem(&listeners, &key);

		zero.open = TCPSCOPE_OPEN_PASSIVE;
		zero.facts |= TCPSCOPE_F_SEEN_OPEN;
		if (o && o->pid) {
			zero.pid = o->pid;
			zero.cgroup = o->cgroup;
			__builtin_memcpy(zero.comm, o->comm, sizeof(zero.comm));
			zero.owner_known = 1;
		}
	}
	/* a socket once untracked stays so: nothing may be counted for it twice */
	if (!(sk->sk_bpf_storage && bpf_sk_storage_get(&untracked_sks, (void *)sk, 0, 0)) &&
	    bpf_map_update_elem(&conns, &cookie, &zero, BPF_NOEXIST) == 0) {
		c = bpf_map_lookup_elem(&conns, &cookie);
		if (c)
			return c;
	}
	counter_inc(TCPSCOPE_CNT_CONN_FULL);
	if (!bpf_sk_storage_get(&untracked_sks, (void *)sk, 0, 0)) {
		/* its first event: the connection is counted now, once */
		bpf_sk_storage_get(&untracked_sks, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		gauge_lost(agg_of(&sk->__sk_common, true), TCPSCOPE_CNT_CONN_UNTRACKED);
	}
	c = bpf_map_lookup_elem(&scratch, &idx);
	if (c) {
		*c = zero;
		c->untracked = 1;
	}
	return c;
}

/* The app aborted: SO_LINGER {1, 0} close() goes through tcp_disconnect(), which moves a
 * synchronized socket straight to CLOSE; tcp_abort() (sock_destroy) sets ECONNABORTED. */
static __always_inline bool aborted(const struct sock *sk, int old)
{
	unsigned long sk_flags = sk->__sk_common.skc_flags;
	int linger = bpf_core_enum_value(enum sock_flags, SOCK_LINGER);

	if (sk->sk_err == ECONNABORTED)
		return true;
	/* tcp_need_reset() states */
	if (!((1 << old) & ((1 << TCP_ESTABLISHED) | (1 << TCP_CLOSE_WAIT) | (1 << TCP_FIN_WAIT1) |
			    (1 << TCP_FIN_WAIT2) | (1 << TCP_SYN_RECV))))
		return false;
	return (sk_flags & (1UL << linger)) && sk->sk_lingertime == 0;
}

/* The connection's end seen from its full socket (no timewait socket took it over). */
static __always_inline void conn_end(const struct sock *sk, struct tcpscope_agg *a, struct conn *c,
				     __u64 cookie, __u64 now)
{
	const struct sock_common *skc = &sk->__sk_common;
	struct tuple t = {};

	if (emit_events)
		read_tuple(skc, &t, true);
	emit_conn(a, &t, skc_netns(skc, true), c, cookie, now);
}

static __noinline int state_change(const struct sock *sk, int old, int new, __u64 now)
{
	const struct sock_common *skc = &sk->__sk_common;
	__u32 netns = skc_netns(skc, true);
	struct tcpscope_agg *a = agg_of_ns(netns);
	struct tcpscope_event *e;
	__u64 cookie, dur = 0, in_prev;
	__u16 flags = 0;
	struct conn *c;
	bool handoff;
	__u8 prev;

	/* bpf_get_socket_cookie() generates the cookie if the socket has none yet; it is
	 * copied into the timewait socket by inet_twsk_alloc(), so it survives the handoff. */
	cookie = bpf_get_socket_cookie((void *)sk);
	c = conn_lookup(cookie);
	if (c && c->state == TCP_CLOSE && old == TCP_CLOSE) {
		/* a closed socket used again (connect() after a failure, listen()): the old
		 * connection ends here rather than at tcp_destroy_sock */
		conn_end(sk, a, c, cookie, now);
		bpf_map_delete_elem(&conns, &cookie);
		c = NULL;
	}
	if (!c) {
		c = conn_new(sk, cookie, old, new, now);
		if (!c)
			return 0;
	} else {
		flush_pending_syn(sk, c, cookie);
	}

	if (new == TCP_LISTEN) {
		struct listen_key key = { .netns = netns, .port = skc->skc_num };
		struct owner o = { .pid = c->pid, .cgroup = c->cgroup };

		__builtin_memcpy(o.comm, c->comm, sizeof(o.comm));
		if (bpf_map_update_elem(&listeners, &key, &o, BPF_ANY))
			counter_inc(TCPSCOPE_CNT_LISTENER_FULL);
	}

	if (old == TCP_LISTEN && new == TCP_SYN_RECV) {
		struct tcpscope_port_agg *p = port_agg(netns, skc->skc_num);

		if (p)
			pcpu_add(p->accepted, 1);
	}

	switch (new) {
	case TCP_ESTABLISHED:
		c->facts |= TCPSCOPE_F_ESTABLISHED;
		break;
	case TCP_FIN_WAIT1:
		c->facts |= TCPSCOPE_F_FIN_WAIT1;
		break;
	case TCP_CLOSE_WAIT:
		c->facts |= TCPSCOPE_F_CLOSE_WAIT;
		break;
	case TCP_CLOSING:
		c->facts |= TCPSCOPE_F_CLOSING;
		break;
	case TCP_FIN_WAIT2:
		/* tcp_rcv_state_process(): the ACK of our FIN; if that segment carries the
		 * peer's FIN too, tcp_fin() moves on to TIME_WAIT in the same call. The
		 * segment's flags come from the sockops program (handle_sockops). */
		if (old == TCP_FIN_WAIT1 && (c->segflags & TH_FIN))
			c->facts |= TCPSCOPE_F_FIN_WITH_ACK;
		break;
	case TCP_CLOSE:
		if (sk->sk_err == ETIMEDOUT)
			c->facts |= TCPSCOPE_F_ETIMEDOUT;
		if (aborted(sk, old))
			c->facts |= TCPSCOPE_F_ABORT;
		/* as bcc's tcplife does; at the timewait handoff (tcp_time_wait() ->
		 * tcp_done()) this is the last time the full socket's counters can be read:
		 * the timewait socket keeps none */
		conn_stats(sk, c);
		break;
	}
	if (old == TCP_ESTABLISHED || old == TCP_SYN_RECV || new == TCP_CLOSE)
		read_fastopen_facts(sk, c);

	/* tcp_time_wait() arms the timewait socket's timer, then tcp_done() closes the full one */
	handoff = new == TCP_CLOSE && (c->facts & TCPSCOPE_F_TIME_WAIT);
	prev = c->state;
	if (handoff) {
		flags |= TCPSCOPE_EVF_HANDOFF;
	} else if (new == TCP_SYN_SENT && !skc->skc_num) {
		c->ts_state = now;
		c->state = new;
		c->ts_raw = now;
		path_push(c, new);
		c->pending_syn = 1;
		agg_transition(a, old, new, ~0ULL);
		conn_gauge(a, c, prev);
		return 0;
	} else {
		in_prev = enter_state(c, new, now, &flags);
		agg_transition(a, old, new, (flags & TCPSCOPE_EVF_NO_DUR) ? ~0ULL : in_prev);
		conn_gauge(a, c, prev);
	}
	if (c->ts_raw)
		dur = now - c->ts_raw;
	else
		flags |= TCPSCOPE_EVF_NO_DUR;
	c->ts_raw = now;

	e = ev_new(skc, true, c, cookie, TCPSCOPE_EV_STATE, now);
	if (e) {
		e->old_state = old;
		e->new_state = new;
		e->dur_ns = dur;
		e->flags |= flags;
		e->facts = c->facts;
		ev_submit(e);
	}

	if (new == TCP_CLOSE && old == TCP_LISTEN) {
		struct listen_key key = { .netns = netns, .port = skc->skc_num };

		bpf_map_delete_elem(&listeners, &key);
	}
	/* The summary waits for tcp_destroy_sock (close() may still send a RST after CLOSE)
	 * or, after a handoff, for the timewait socket to leave. Without events nothing needs
	 * the record past the handoff: its twctx carries the rest. */
	if (handoff && !emit_events)
		bpf_map_delete_elem(&conns, &cookie);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_set_state, const struct sock *sk, int old, int new)
{
	__u64 now, key = (__u64)sk, *parked;

	if (hooks_only)
		return 0;
	if (sk->sk_protocol != IPPROTO_TCP || !tracked(&sk->__sk_common, true))
		return 0;
	now = bpf_ktime_get_ns();
	/* On older kernels (6.1), inet_csk_clone_lock() sets SYN_RECV on the child before it
	 * copies the ports and the request's cookie in: the child still carries the
	 * listener's. No port is 0 in a real child, so such an early event is parked under
	 * the socket's address and played back, with its own time, at the next transition. */
	if (old == TCP_LISTEN && new == TCP_SYN_RECV && !sk->__sk_common.skc_dport) {
		if (bpf_map_update_elem(&embryos, &key, &now, BPF_ANY))
			counter_inc(TCPSCOPE_CNT_EMBRYO_FULL);
		return 0;
	}
	if (old == TCP_SYN_RECV) {
		parked = bpf_map_lookup_elem(&embryos, &key);
		if (parked) {
			__u64 then = *parked;

			bpf_map_delete_elem(&embryos, &key);
			state_change(sk, TCP_LISTEN, TCP_SYN_RECV, then);
		}
	}
	return state_change(sk, old, new, now);
}

/*
 * TIME_WAIT. The tracepoint never reports it, and no tracepoint sits in the timewait code,
 * but every timewait socket owns a timer whose callback is tw_timer_handler:
 *   armed first (timer_start)        tcp_time_wait() -> inet_twsk_schedule(): entry
 *   re-armed with a new substate      orphaned FIN_WAIT2 got the peer's FIN: -> TIME_WAIT
 *   expired (timer_expire_entry)      tw_timer_handler() -> inet_twsk_kill(): cause timer
 *   cancelled elsewhere than in       inet_twsk_deschedule_put(): RST, port reuse, abort,
 *   __mod_timer() or __run_timers()
 *                                     or netns teardown (inet_twsk_purge)
 */
static __always_inline struct inet_timewait_sock *tw_of(struct timer_list *t)
{
	return (void *)t - bpf_core_field_offset(struct inet_timewait_sock, tw_timer);
}

static __always_inline int on_tw_armed(struct inet_timewait_sock *tw)
{
	const struct sock_common *skc = &tw->__tw_common;
	__u64 key = (__u64)tw, now, cookie, dur = 0;
	struct twctx n = {}, *x;
	struct tcpscope_event *e;
	struct tcpscope_agg *a;
	__u8 sub, old = 0, type;
	__u16 flags = 0;
	struct conn *c;
	__u32 netns;

	if (!tracked(skc, false))
		return 0;
	netns = skc_netns(skc, false);
	a = agg_of_ns(netns);
	cookie = BPF_CORE_READ(skc, skc_cookie.counter);
	sub = BPF_CORE_READ(tw, tw_substate);
	x = bpf_map_lookup_elem(&twctxs, &key);
	if (x && x->cookie == cookie && x->substate == sub)
		return 0; /* re-armed: a retransmitted FIN restarted TIME_WAIT */
	now = bpf_ktime_get_ns();
	c = conn_lookup(cookie);
	if (x && x->cookie == cookie) {
		old = x->substate;
		type = TCPSCOPE_EV_TW_SUBSTATE;
		if (x->gauged)
			tw_gauge(a, old, sub);
		if (x->known)
			agg_transition(a, old, sub, x->ts_state ? now - x->ts_state : ~0ULL);
		x->substate = sub;
		x->ts_state = now;
		if (c)
			dur = enter_state(c, sub, now, &flags);
		else
			flags |= TCPSCOPE_EVF_NO_DUR;
	} else {
		type = TCPSCOPE_EV_TW_ENTER;
		if (!x && tw_overflowed) {
			__u64 *u = bpf_map_lookup_elem(&tw_untracked, &key);

			if (u && *u == cookie)
				return 0; /* re-armed, already counted as untracked */
		}
		if (x) {
			/* the memory of a timewait socket whose exit we missed holds a new one */
			counter_inc(TCPSCOPE_CNT_TW_STALE);
			if (x->gauged)
				tw_gauge(agg_of_ns(x->netns), x->substate, 0);
			if (x->ported)
				port_timewait(x->netns, x->lport, -1);
		}
		n.cookie = cookie;
		n.substate = sub;
		n.netns = netns;
		n.lport = skc_lport(skc, false);
		n.gauged = aggregate;
		if (a)
			pcpu_add(a->tw_entered, 1);
		if (c) {
			c->facts |= TCPSCOPE_F_TIME_WAIT;
			old = c->state; /* FIN_WAIT2 or CLOSING: the full socket's state */
			if (c->gauged) /* the timewait socket is counted from now on */
				agg_gauge(a, old, 0);
			c->gauged = 0;
			if (sub != old) {
				dur = enter_state(c, sub, now, &flags);
				agg_transition(a, old, sub,
					       (flags & TCPSCOPE_EVF_NO_DUR) ? ~0ULL : dur);
			} else { /* orphaned FIN_WAIT2 moved into a timewait socket: same state */
				dur = c->ts_state ? now - c->ts_state : 0;
			}
			n.known = 1;
			n.ts_state = c->ts_state;
			n.open = c->open;
			n.close = tcpscope_classify_close(c->facts, c->probes);
		} else {
			flags |= TCPSCOPE_EVF_NO_DUR;
		}
		if (aggregate)
			n.ported = c ? c->open == TCPSCOPE_OPEN_PASSIVE : listening(netns, n.lport);
		/* counted in the gauges only once it is in the table: its exit is found there */
		if (bpf_map_update_elem(&twctxs, &key, &n, BPF_ANY)) {
			gauge_lost(a, TCPSCOPE_CNT_TW_FULL);
			tw_overflowed = 1;
			bpf_map_update_elem(&tw_untracked, &key, &cookie, BPF_ANY);
			n.gauged = 0;
			n.ported = 0;
		}
		if (n.gauged)
			tw_gauge(a, 0, sub);
		if (n.ported)
			port_timewait(netns, n.lport, 1);
	}
	e = ev_new(skc, false, c, cookie, type, now);
	if (!e)
		return 0;
	e->old_state = old;
	e->new_state = sub;
	e->dur_ns = dur;
	e->flags |= flags;
	if (c)
		e->facts = c->facts;
	ev_submit(e);
	return 0;
}

static __always_inline bool net_dying(const struct sock_common *skc)
{
	struct net *net = BPF_CORE_READ(skc, skc_net.net);
	void *ns = &net->ns;

	if (bpf_core_field_exists(struct ns_common___new, __ns_ref))
		return BPF_CORE_READ((struct ns_common___new *)ns, __ns_ref.refs.counter) == 0;
	return BPF_CORE_READ((struct ns_common___old *)ns, count.refs.counter) == 0;
}

/* Everything on_tw_leave() reads of the timewait socket, at the time it leaves. */
static __always_inline void tw_snap(struct inet_timewait_sock *tw, __u8 cause, __u64 now,
				    struct twsnap *s)
{
	const struct sock_common *skc = &tw->__tw_common;

	s->key = (__u64)tw;
	s->ts = now;
	s->tracked = tracked(skc, false);
	if (!s->tracked)
		return;
	s->netns = skc_netns(skc, false);
	s->lport = skc_lport(skc, false);
	s->cookie = BPF_CORE_READ(skc, skc_cookie.counter);
	s->substate = BPF_CORE_READ(tw, tw_substate);
	/* signed: an expiring timer runs late, up to a wheel granule past expires */
	s->left = (__s64)(BPF_CORE_READ(tw, tw_timer.expires) - bpf_jiffies64());
	s->cause =
		cause == TCPSCOPE_TW_CAUSE_KILL && net_dying(skc) ? TCPSCOPE_TW_CAUSE_NETNS : cause;
	if (emit_events)
		read_tuple(skc, &s->tuple, false);
}

/* The orphaned FIN_WAIT2 -> TIME_WAIT change re-arms the timer with mod_timer_pending(),
 * which skips the timer tracepoints when the new expiry falls in the same wheel bucket.
 * It is then reported when the timewait socket leaves, at the time the re-arm implies:
 * expires = FIN arrival + TCP_TIMEWAIT_LEN (60 s), to a jiffy. */
static __always_inline void late_substate(struct twsnap *s, struct conn *c, struct tcpscope_agg *a,
					  struct twctx *x)
{
	__s64 in_tw = 60 * (__s64)(1000000000ULL / ns_per_jiffy) - s->left;
	struct tcpscope_event *e;
	__u64 ts, dur = 0;
	__u16 flags = TCPSCOPE_EVF_LATE;
	struct tuple t = s->tuple;

	ts = s->ts - (in_tw > 0 ? (__u64)in_tw : 0) * ns_per_jiffy;
	if (x->known) {
		agg_transition(a, TCP_FIN_WAIT2, TCP_TIME_WAIT,
			       x->ts_state && ts > x->ts_state ? ts - x->ts_state : ~0ULL);
		x->ts_state = ts;
	}
	if (c) {
		dur = c->ts_state && ts > c->ts_state ? ts - c->ts_state : 0;
		enter_state(c, TCP_TIME_WAIT, ts, &flags);
	} else {
		flags |= TCPSCOPE_EVF_NO_DUR;
	}
	e = ev_new_at(&t, s->netns, c, s->cookie, TCPSCOPE_EV_TW_SUBSTATE, ts);
	if (!e)
		return;
	e->old_state = TCP_FIN_WAIT2;
	e->new_state = TCP_TIME_WAIT;
	e->dur_ns = dur;
	e->flags |= flags;
	if (c)
		e->facts = c->facts;
	ev_submit(e);
}

static __always_inline int on_tw_leave(struct twsnap *s)
{
	struct tcpscope_event *e;
	struct tcpscope_agg *a;
	__u64 dur = 0, key = s->key;
	struct twctx *p, x = {};
	__u16 flags = 0;
	struct conn *c;
	struct tuple t;

	p = bpf_map_lookup_elem(&twctxs, &key);
	/* A kill is decided at the next timer event on its CPU: by then the socket may be
	 * freed and its memory hold a new timewait socket already armed (on another CPU),
	 * which counted this one out (TCPSCOPE_CNT_TW_STALE). Its entry is not ours. */
	if (p && s->tracked && p->cookie != s->cookie)
		p = NULL;
	if (p) {
		x = *p;
		/* counted out here: should the delete fail (a hash bucket lock can refuse on
		 * 6.15+), the entry left behind must not be counted out again */
		p->gauged = 0;
		p->ported = 0;
		p->cookie = 0;
		bpf_map_delete_elem(&twctxs, &key);
	}
	if (!s->tracked)
		return 0;
	a = agg_of_ns(s->netns);
	if (x.gauged)
		tw_gauge(a, x.substate, 0);
	if (x.ported)
		port_timewait(s->netns, s->lport, -1);
	c = conn_lookup(s->cookie);
	if (x.substate == TCP_FIN_WAIT2 && s->substate == TCP_TIME_WAIT)
		late_substate(s, c, a, &x);
	if (a && s->cause < TCPSCOPE_NCAUSE)
		pcpu_add(a->tw_left[s->cause], 1);
	if (x.known) {
		agg_transition(a, s->substate, TCP_CLOSE, x.ts_state ? s->ts - x.ts_state : ~0ULL);
		agg_conn(a, x.open, x.close);
	}
	if (!c)
		return 0;
	dur = enter_state(c, TCP_CLOSE, s->ts, &flags);
	t = s->tuple;
	e = ev_new_at(&t, s->netns, c, s->cookie, TCPSCOPE_EV_TW_LEAVE, s->ts);
	if (e) {
		e->old_state = s->substate;
		e->new_state = TCP_CLOSE;
		e->cause = s->cause;
		e->dur_ns = dur;
		e->flags |= flags;
		e->facts = c->facts;
		ev_submit(e);
	}
	t = s->tuple;
	emit_conn(NULL, &t, s->netns, c, s->cookie, s->ts); /* counted above, from x */
	bpf_map_delete_elem(&conns, &s->cookie);
	return 0;
}

/*
 * timer_cancel on a timewait timer is one of three things, and only the next timer event
 * on the same CPU tells which:
 *   __mod_timer() detaching before it re-queues   -> timer_start of the same timer
 *   the expiry detaching before the callback       -> timer_expire_entry of the same timer
 *   a kill (timer_shutdown_sync/timer_delete_sync) -> anything else
 * The first two run with the timer base locked and interrupts off (the expiry drops the
 * lock just before the callback), so nothing comes in between. The cancelled socket is
 * read at once (it is freed right after a kill) and kept per CPU until then: a kill is
 * counted at the next timer event on its CPU, with the time of the cancel. No stack walk.
 */
static __always_inline struct twcancel *tw_pending(void)
{
	__u32 idx = 0;

	return bpf_map_lookup_elem(&twcancels, &idx);
}

/* tp_btf hands over a trusted pointer: a direct load, not a probe-read helper call (these
 * programs run for every timer of every socket, some 18 times per connection) */
static __always_inline __u64 timer_fn(struct timer_list *t)
{
	return (__u64)t->function;
}

/* What an event of another timer finds of a cancelled timewait timer (p->timer). */
enum tw_fate {
	TW_KILLED, /* its memory holds another socket, its timer is shut down or it is unhashed */
	TW_REARMED, /* alive and its timer queued again: the re-arm's own run was skipped */
	TW_IN_FLIGHT, /* alive, timer detached: an expiry or a re-arm not finished yet */
};

static __always_inline enum tw_fate tw_fate(struct twcancel *p)
{
	struct inet_timewait_sock *tw = tw_of((struct timer_list *)p->timer);

	if (!p->snap.tracked ||
	    BPF_CORE_READ(&tw->__tw_common, skc_cookie.counter) != p->snap.cookie ||
	    (__u64)BPF_CORE_READ(tw, tw_timer.function) != tw_timer_fn ||
	    !BPF_CORE_READ(&tw->__tw_common, skc_nulls_node.pprev))
		return TW_KILLED;
	return BPF_CORE_READ(tw, tw_timer.entry.pprev) ? TW_REARMED : TW_IN_FLIGHT;
}

/* Every timer program starts here: a pending cancel not followed by its own timer's
 * re-arm or expiry (an event of t itself) was a kill, if the socket shows it. An event of
 * another timer can come in between: the expiry enables interrupts between detaching the
 * timer and its callback (a hard interrupt's timer in that window). Such a cancel stays
 * pending until its own event or until the socket is gone, unless must (a new timewait
 * cancel needs the slot) forces a decision: then it counts as a kill. */
static __always_inline void tw_settle(struct twcancel *p, struct timer_list *t, bool must)
{
	__u64 pending;

	if (!p || !p->timer)
		return;
	pending = p->timer;
	if (pending == (__u64)t) {
		p->timer = 0;
		/* the same timer re-armed, unless it is a new timewait socket at the address
		 * of the cancelled one (freed by the kill, reused at once): then a kill */
		if (timer_fn(t) == tw_timer_fn &&
		    BPF_CORE_READ(&tw_of(t)->__tw_common, skc_cookie.counter) != p->snap.cookie)
			on_tw_leave(&p->snap);
		return;
	}
	switch (tw_fate(p)) {
	case TW_REARMED:
		p->timer = 0;
		return;
	case TW_IN_FLIGHT:
		if (!must)
			return;
		/* fall through */
	case TW_KILLED:
		p->timer = 0;
		on_tw_leave(&p->snap);
		return;
	}
}

/* Keepalive: tcp_keepalive_timer() runs on sk->sk_timer; when it sends a probe it bumps
 * icsk_probes_out, then re-arms the timer. The re-arm inside the expiry tells. Stable
 * kernels that took the MPTCP timer fix (Debian's 6.1) keep it in icsk_keepalive_timer. */
static __always_inline struct sock *keepalive_sock(struct timer_list *t)
{
	if (bpf_core_field_exists(struct inet_connection_sock___ka, icsk_keepalive_timer))
		return (void *)t - bpf_core_field_offset(struct inet_connection_sock___ka,
							 icsk_keepalive_timer);
	return (void *)t - bpf_core_field_offset(struct sock, sk_timer);
}

static __always_inline int on_keepalive_expire(struct timer_list *t)
{
	struct sock *sk = keepalive_sock(t);
	const struct inet_connection_sock *icsk = (void *)sk;
	struct kactx *k;
	__u32 idx = 0;

	k = bpf_map_lookup_elem(&kactxs, &idx);
	if (!k)
		return 0;
	k->timer = (__u64)t;
	k->probes_out = BPF_CORE_READ(icsk, icsk_probes_out);
	return 0;
}

static __always_inline int on_keepalive_rearm(struct timer_list *t)
{
	struct sock *sk = keepalive_sock(t);
	const struct inet_connection_sock *icsk = (void *)sk;
	const struct sock_common *skc = &sk->__sk_common;
	struct tcpscope_event *e;
	__u64 now, cookie;
	struct kactx *k;
	__u32 idx = 0;
	struct conn *c;
	__u8 probes;

	k = bpf_map_lookup_elem(&kactxs, &idx);
	if (!k || k->timer != (__u64)t)
		return 0; /* armed outside the keepalive timer: setsockopt, new data, ... */
	probes = BPF_CORE_READ(icsk, icsk_probes_out);
	if (probes <= k->probes_out) {
		k->probes_out = probes;
		return 0;
	}
	k->probes_out = probes;
	if (!tracked(skc, false))
		return 0;
	now = bpf_ktime_get_ns();
	cookie = BPF_CORE_READ(skc, skc_cookie.counter);
	c = conn_lookup(cookie);
	if (c)
		c->probes++;
	if (aggregate) {
		struct tcpscope_agg *a = agg_of(skc, false);

		if (a)
			pcpu_add(a->keepalive_probes, 1);
	}
	e = ev_new(skc, false, c, cookie, TCPSCOPE_EV_KEEPALIVE, now);
	if (!e)
		return 0;
	e->old_state = BPF_CORE_READ(skc, skc_state);
	e->new_state = e->old_state;
	e->probes = probes;
	if (c && c->ts_state) {
		e->facts = c->facts;
		e->dur_ns = now - c->ts_state; /* time in the current state so far */
	} else {
		e->flags |= TCPSCOPE_EVF_NO_DUR;
	}
	ev_submit(e);
	return 0;
}

SEC("tp_btf/timer_start")
int BPF_PROG(handle_timer_start, struct timer_list *t)
{
	__u64 fn = timer_fn(t);

	if (hooks_only)
		return 0;
	tw_settle(tw_pending(), t, false);
	if (!fn)
		return 0;
	if (fn == tw_timer_fn)
		return on_tw_armed(tw_of(t));
	if (fn == keepalive_timer_fn)
		return on_keepalive_rearm(t);
	return 0;
}

SEC("tp_btf/timer_cancel")
int BPF_PROG(handle_timer_cancel, struct timer_list *t)
{
	struct twcancel *p = tw_pending();
	__u64 fn = timer_fn(t);

	if (hooks_only)
		return 0;
	tw_settle(p, t, fn == tw_timer_fn);
	if (!fn || fn != tw_timer_fn || !p)
		return 0;
	tw_snap(tw_of(t), TCPSCOPE_TW_CAUSE_KILL, bpf_ktime_get_ns(), &p->snap);
	p->timer = (__u64)t;
	return 0;
}

SEC("tp_btf/timer_expire_entry")
int BPF_PROG(handle_timer_expire, struct timer_list *t)
{
	struct twcancel *p = tw_pending();
	__u64 fn = timer_fn(t);

	if (hooks_only)
		return 0;
	tw_settle(p, t, fn == tw_timer_fn); /* tw_snap() below takes the slot */
	if (!fn)
		return 0;
	if (fn == tw_timer_fn && p) {
		tw_snap(tw_of(t), TCPSCOPE_TW_CAUSE_TIMER, bpf_ktime_get_ns(), &p->snap);
		return on_tw_leave(&p->snap);
	}
	if (fn == keepalive_timer_fn)
		return on_keepalive_expire(t);
	return 0;
}

SEC("tp_btf/timer_expire_exit")
int BPF_PROG(handle_timer_expire_exit, struct timer_list *t)
{
	struct kactx *k;
	__u32 idx = 0;

	if (hooks_only)
		return 0;
	tw_settle(tw_pending(), t, false);
	k = bpf_map_lookup_elem(&kactxs, &idx);
	if (k && k->timer == (__u64)t)
		k->timer = 0;
	return 0;
}

static __always_inline int set_fact(const struct sock *sk, __u32 fact)
{
	struct conn *c;
	__u8 state;

	if (!sk)
		return 0;
	state = sk->__sk_common.skc_state;
	if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV)
		return 0; /* not a full socket */
	c = conn_lookup(bpf_get_socket_cookie((void *)sk));
	if (c)
		c->facts |= fact;
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(handle_rst_rcvd, struct sock *sk)
{
	if (hooks_only)
		return 0;
	return set_fact(sk, TCPSCOPE_F_RST_RCVD);
}

/* tcp_send_active_reset() and replies from tcp_v4/v6_send_reset() on a full socket */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(handle_rst_sent, const struct sock *sk)
{
	if (hooks_only)
		return 0;
	return set_fact(sk, TCPSCOPE_F_RST_SENT);
}

/* The connection's true end for a socket that never entered TIME_WAIT. */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(handle_destroy, struct sock *sk)
{
	struct tcpscope_agg *a;
	__u64 cookie;
	struct conn *c;

	if (hooks_only)
		return 0;
	cookie = bpf_get_socket_cookie(sk);
	c = conn_lookup(cookie);
	if (!c)
		return 0;
	flush_pending_syn(sk, c, cookie);
	if (c->facts & TCPSCOPE_F_TIME_WAIT) {
		/* its timewait socket carries it on; without events the record goes at the
		 * handoff (state_change), here when that run was skipped */
		if (!emit_events)
			bpf_map_delete_elem(&conns, &cookie);
		return 0;
	}
	/* Only if its move to CLOSE was missed: tcp_disconnect() (SO_LINGER {1, 0}, connect()
	 * with AF_UNSPEC) zeroes the counters after it. So a RST that close() sends after
	 * CLOSE (__tcp_close() with unread data) is not in segs_out, as in bcc's tcplife. */
	if (!c->stats_known)
		conn_stats(sk, c);
	a = agg_of(&sk->__sk_common, true);
	if (c->gauged && c->state != TCP_CLOSE) {
		/* its move to CLOSE was missed (a run the kernel skipped): the socket is gone */
		agg_gauge(a, c->state, 0);
		c->gauged = 0;
		counter_inc(TCPSCOPE_CNT_RECOUNTED);
	}
	conn_end(sk, a, c, cookie, bpf_ktime_get_ns());
	bpf_map_delete_elem(&conns, &cookie);
	return 0;
}

/*
 * watch --snapshot: a record of one socket the start-up walk meets, written to the walk's own
 * output (bpf_seq_write()), which the agent reads before it polls the ring buffer: nothing is
 * lost however many sockets there are. tp: the full socket, NULL for a timewait one. Port
 * filters apply here; the pid filter is the agent's, which resolves unknown owners from
 * /proc/PID/fd by the socket's inode.
 */
static __always_inline void snapshot_sock(struct seq_file *seq, const struct sock_common *skc,
					  const struct tcp_sock *tp, __u64 cookie, __u8 state)
{
	struct tcpscope_sock_event *r;
	const struct conn *c;
	struct tuple t = {};
	__u64 now;
	__u32 idx = 0;

	read_tuple(skc, &t, false);
	if (!ports_wanted(&t)) {
		counter_inc(TCPSCOPE_CNT_FILTERED);
		return;
	}
	r = bpf_map_lookup_elem(&snapbuf, &idx);
	if (!r)
		return;
	now = bpf_ktime_get_ns();
	__builtin_memset(r, 0, sizeof(*r));
	/* a connection seen since attach: its owner and the time in its state are known */
	c = conn_lookup(cookie);
	ev_fill(&r->ev, &t, skc_netns(skc, false), c, cookie, TCPSCOPE_EV_SNAPSHOT, now);
	r->ev.old_state = state;
	r->ev.new_state = state;
	if (c && c->ts_state) {
		r->ev.dur_ns = now - c->ts_state; /* in the current state so far */
		r->ev.facts = c->facts;
	} else {
		r->ev.flags |= TCPSCOPE_EVF_NO_DUR;
	}
	if (tp && state != TCP_LISTEN)
		read_sock_stats(tp, &r->stats);
	else
		r->ev.flags |= TCPSCOPE_EVF_NO_STATS;
	/* sock_alloc_file() made it: NULL for a child not accepted yet and once orphaned */
	if (tp)
		r->ino =
			BPF_CORE_READ(&tp->inet_conn.icsk_inet.sk, sk_socket, file, f_inode, i_ino);
	bpf_seq_write(seq, r, sizeof(*r));
}

/*
 * Seeding the gauges: the agent runs this socket iterator once in every netns after the
 * programs are attached. A socket not yet known is counted in its state now; one that
 * changed state since attach is already known (conns, twctxs) and left alone, so nothing is
 * counted twice. Request sockets (half-open handshakes) are not counted: no hook sees them
 * go. With events only (watch --snapshot) the same walk lists the sockets and keeps nothing:
 * a socket that predates tcpscope is followed from its first event, as without the walk.
 */
static __always_inline void seed_timewait(const struct sock_common *skc,
					  struct tcp_timewait_sock *tw, struct twctx *n)
{
	__u64 key = (__u64)tw;
	__u32 netns = skc_netns(skc, false);
	__u16 lport = skc_lport(skc, false);
	long err;

	n->gauged = 1;
	n->netns = netns;
	n->lport = lport;
	/* the walk meets the listeners first (listening hash, then established) */
	n->ported = listening(netns, lport);
	err = bpf_map_update_elem(&twctxs, &key, n, BPF_NOEXIST);
	if (err == 0) {
		tw_gauge(agg_of(skc, false), 0, n->substate);
		if (n->ported)
			port_timewait(netns, lport, 1);
		counter_inc(TCPSCOPE_CNT_SEEDED);
	} else if (err != -EEXIST /* seen since attach */) {
		gauge_lost(agg_of(skc, false), TCPSCOPE_CNT_TW_FULL);
	}
}

static __always_inline void seed_conn(const struct sock_common *skc, struct tcp_sock *tp,
				      __u64 cookie, __u8 state)
{
	struct conn zero = { .state = state, .gauged = 1, .netns = skc_netns(skc, false) };
	long err;

	path_push(&zero, state);
	if (state == TCP_LISTEN) {
		struct listen_key lk = { .netns = skc_netns(skc, false),
					 .port = skc_lport(skc, false) };
		struct owner unknown = {}; /* pid 0: children's owner stays unknown */

		zero.facts |= TCPSCOPE_F_LISTENER;
		if (bpf_map_update_elem(&listeners, &lk, &unknown, BPF_NOEXIST) == -E2BIG)
			counter_inc(TCPSCOPE_CNT_LISTENER_FULL);
	}
	err = bpf_map_update_elem(&conns, &cookie, &zero, BPF_NOEXIST);
	if (err == 0) {
		agg_gauge(agg_of(skc, false), 0, state);
		counter_inc(TCPSCOPE_CNT_SEEDED);
	} else if (err != -EEXIST /* seen since attach */) {
		/* marked as conn_new() does: counted once, untracked for life */
		bpf_sk_storage_get(&untracked_sks, tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
		gauge_lost(agg_of(skc, false), TCPSCOPE_CNT_CONN_UNTRACKED);
	}
}

SEC("iter/tcp")
int seed_sockets(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_timewait_sock *tw;
	struct tcp_sock *tp;
	__u64 cookie;
	__u8 state;

	if (!skc || !tracked(skc, false))
		return 0;
	state = BPF_CORE_READ(skc, skc_state);
	if (state == TCP_TIME_WAIT) {
		tw = bpf_skc_to_tcp_timewait_sock(skc);
		if (!tw)
			return 0;
		struct twctx n = { .cookie = BPF_CORE_READ(skc, skc_cookie.counter),
				   .substate = BPF_CORE_READ(tw, tw_sk.tw_substate) };

		if (aggregate)
			seed_timewait(skc, tw, &n);
		if (snapshot)
			snapshot_sock(ctx->meta->seq, skc, NULL, n.cookie, n.substate);
		return 0;
	}
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0; /* a request socket */
	cookie = bpf_get_socket_cookie(tp);
	if (aggregate)
		seed_conn(skc, tp, cookie, state);
	if (snapshot)
		snapshot_sock(ctx->meta->seq, skc, tp, cookie, state);
	return 0;
}

/*
 * After recount_sockets walked recount_netns (bpf_for_each_map_elem over conns, from the walk's
 * closing call): a connection still counted in a gauge whose socket the walk did not meet is
 * gone, its last transitions and its destruction missed in runs the kernel skipped. Only
 * records older than the walk, of hashed states (not CLOSE, not a SYN_SENT waiting for its
 * port), not handed to a timewait socket. A callback rather than an iter/bpf_map_elem program:
 * some kernels refuse that program type (EPERM) where they load iter/tcp.
 */
static long reap_conn(struct bpf_map *map, __u64 *key, struct conn *c, void *ctx)
{
	__u64 cookie = *key;

	if (c->netns != recount_netns || c->seen == recount_gen || !c->gauged || c->untracked ||
	    c->state == TCP_CLOSE || c->pending_syn || (c->facts & TCPSCOPE_F_TIME_WAIT) ||
	    c->ts_first >= recount_start_ns)
		return 0;
	agg_gauge(agg_of_ns(c->netns), c->state, 0);
	c->gauged = 0;
	counter_inc(TCPSCOPE_CNT_RECOUNTED);
	bpf_map_delete_elem(&conns, &cookie);
	return 0;
}

/*
 * The late FIN_WAIT2 -> TIME_WAIT (see late_substate) found from the kernel's own state: the
 * agent runs this iterator in a namespace whose gauges hold orphaned FIN_WAIT2 timewait
 * sockets (tw_orphans) before it reads a snapshot. A timewait socket we hold as FIN_WAIT2
 * whose tw_substate is TIME_WAIT now got the peer's FIN unseen: it moves now, dated as its
 * exit would date it.
 */
SEC("iter/tcp")
int recount_sockets(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct inet_timewait_sock *tw;
	struct tcpscope_agg *a;
	struct twsnap s = {};
	struct tcp_sock *tp;
	struct twctx *x;
	struct conn *c;
	__u8 state;
	__u64 key;

	if (!skc) { /* the walk is over (bpf_iter_tcp_seq_stop) */
		bpf_for_each_map_elem(&conns, reap_conn, NULL, 0);
		return 0;
	}
	if (!tracked(skc, false))
		return 0;
	state = BPF_CORE_READ(skc, skc_state);
	if (state != TCP_TIME_WAIT) {
		/* A full socket is walked locked (lock_sock_fast() in bpf_iter_tcp_seq_show):
		 * no state change is half done. One whose gauge sits in another state missed a
		 * transition in a skipped run: it moves to the kernel's state. */
		tp = bpf_skc_to_tcp_sock(skc);
		if (!tp)
			return 0; /* a request socket */
		c = conn_lookup(bpf_get_socket_cookie(tp));
		if (!c)
			return 0;
		c->seen = recount_gen;
		if (!c->gauged || (c->facts & TCPSCOPE_F_TIME_WAIT) || c->state == state)
			return 0;
		agg_gauge(agg_of(skc, false), c->state, state);
		c->state = state;
		counter_inc(TCPSCOPE_CNT_RECOUNTED);
		return 0;
	}
	tw = (struct inet_timewait_sock *)bpf_skc_to_tcp_timewait_sock(skc);
	if (!tw)
		return 0;
	key = (__u64)tw;
	x = bpf_map_lookup_elem(&twctxs, &key);
	if (!x) {
		/* Its arm was missed: counted from now on (hashed and armed under the bucket lock
		 * the walk takes: never half done). Not once its timer is detached: an expiring
		 * one leaves twctxs before inet_twsk_kill() unhashes it. */
		if (!BPF_CORE_READ(tw, tw_timer.entry.pprev))
			return 0;
		struct twctx n = { .cookie = BPF_CORE_READ(skc, skc_cookie.counter),
				   .substate = BPF_CORE_READ(tw, tw_substate),
				   .netns = skc_netns(skc, false),
				   .lport = skc_lport(skc, false),
				   .gauged = 1 };

		if (bpf_map_update_elem(&twctxs, &key, &n, BPF_NOEXIST) == 0) {
			a = agg_of(skc, false);
			tw_gauge(a, 0, n.substate);
			if (a) /* it entered after start: the agent seeds before it recounts */
				pcpu_add(a->tw_entered, 1);
			counter_inc(TCPSCOPE_CNT_RECOUNTED);
		}
		return 0;
	}
	if (x->substate != TCP_FIN_WAIT2)
		return 0;
	tw_snap(tw, TCPSCOPE_TW_CAUSE_UNKNOWN, bpf_ktime_get_ns(), &s);
	if (!s.tracked || s.cookie != x->cookie || s.substate != TCP_TIME_WAIT)
		return 0;
	a = agg_of_ns(s.netns);
	late_substate(&s, conn_lookup(s.cookie), a, x);
	if (x->gauged)
		tw_gauge(a, TCP_FIN_WAIT2, TCP_TIME_WAIT);
	x->substate = TCP_TIME_WAIT;
	if (a)
		pcpu_add(a->tw_recounted, 1);
	return 0;
}

/*
 * sockops, attached to the cgroup v2 root: segment facts no tracepoint exposes.
 *  - TCP_CONNECT_CB: connect() has chosen the local port; the deferred SYN_SENT goes out.
 *  - in FIN_WAIT1, the flags of each incoming segment (PARSE_HDR_OPT_CB runs before
 *    tcp_rcv_state_process() acts on it), so FIN_WAIT1 -> FIN_WAIT2 knows whether the
 *    ACK of our FIN carried the peer's FIN too (three-way close).
 */
SEC("sockops")
int handle_sockops(struct bpf_sock_ops *skops)
{
	int flags = skops->bpf_sock_ops_cb_flags;
	struct bpf_sock *bsk;
	struct tcp_sock *tp;
	struct conn *c;
	__u64 cookie;

	if (hooks_only)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		bsk = skops->sk;
		if (!bsk)
			break;
		tp = bpf_skc_to_tcp_sock(bsk);
		if (!tp)
			break;
		cookie = bpf_get_socket_cookie(skops);
		c = conn_lookup(cookie);
		if (c)
			flush_pending_syn((struct sock *)tp, c, cookie);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, flags | BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_FIN_WAIT1)
			bpf_sock_ops_cb_flags_set(skops,
						  flags | BPF_SOCK_OPS_PARSE_ALL_HDR_OPT_CB_FLAG);
		else if (skops->args[0] == BPF_TCP_FIN_WAIT1)
			bpf_sock_ops_cb_flags_set(skops,
						  flags & ~BPF_SOCK_OPS_PARSE_ALL_HDR_OPT_CB_FLAG);
		break;
	case BPF_SOCK_OPS_PARSE_HDR_OPT_CB:
		if (skops->state != BPF_TCP_FIN_WAIT1)
			break;
		c = conn_lookup(bpf_get_socket_cookie(skops));
		if (c)
			c->segflags = skops->skb_tcp_flags;
		break;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
