/* SPDX-License-Identifier: GPL-2.0 */
/* Lifecycle: sock:inet_sock_set_state, the connection record from first sight to its
 * end, RSTs, tcp_destroy_sock and the segment facts of sockops.
 * Part of tcpscope.bpf.c, the one compilation unit: included there, in order. */
#ifndef __TCPSCOPE_LIFECYCLE_H
#define __TCPSCOPE_LIFECYCLE_H

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
	zero.sk = (__u64)sk;
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

#endif /* __TCPSCOPE_LIFECYCLE_H */
