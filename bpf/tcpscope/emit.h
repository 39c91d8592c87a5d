/* SPDX-License-Identifier: GPL-2.0 */
/* Ring buffer records: addresses, owner, reserve and submit.
 * Part of tcpscope.bpf.c, the one compilation unit: included there, in order. */
#ifndef __TCPSCOPE_EMIT_H
#define __TCPSCOPE_EMIT_H

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

#endif /* __TCPSCOPE_EMIT_H */
