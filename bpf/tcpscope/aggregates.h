/* SPDX-License-Identifier: GPL-2.0 */
/* The per-namespace aggregates (stats, serve, top): gauges, transitions, ports.
 * Part of tcpscope.bpf.c, the one compilation unit: included there, in order. */
#ifndef __TCPSCOPE_AGGREGATES_H
#define __TCPSCOPE_AGGREGATES_H

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

#endif /* __TCPSCOPE_AGGREGATES_H */
