/* SPDX-License-Identifier: GPL-2.0 */
/* Socket walks (iter/tcp): seeding at start, watch --snapshot, and the recount that
 * puts the gauges right from the kernel's state.
 * Part of tcpscope.bpf.c, the one compilation unit: included there, in order. */
#ifndef __TCPSCOPE_WALKS_H
#define __TCPSCOPE_WALKS_H

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
	struct conn zero = {
		.state = state, .gauged = 1, .netns = skc_netns(skc, false), .sk = (__u64)tp
	};
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
				   .substate = BPF_CORE_READ(tw, tw_sk.tw_substate),
				   .gen = recount_gen };

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
	struct sock *sk = (void *)c->sk;
	__u64 cookie = *key;

	if (c->netns != recount_netns || c->seen == recount_gen || !c->gauged || c->untracked ||
	    c->state == TCP_CLOSE || c->pending_syn || (c->facts & TCPSCOPE_F_TIME_WAIT) ||
	    c->ts_first >= recount_start_ns)
		return 0;
	/* Still hashed under its cookie (full sockets are SLAB_TYPESAFE_BY_RCU: read safely):
	 * alive, and the walk missed it (Debian's 6.1 and 6.12, see reap_tw). Left as it is:
	 * unlocked, its state may be changing under a program run on another CPU. */
	if (BPF_CORE_READ(sk, __sk_common.skc_cookie.counter) == cookie &&
	    BPF_CORE_READ(sk, __sk_common.skc_nulls_node.pprev))
		return 0;
	agg_gauge(agg_of_ns(c->netns), c->state, 0);
	c->gauged = 0;
	counter_inc(TCPSCOPE_CNT_RECOUNTED);
	bpf_map_delete_elem(&conns, &cookie);
	return 0;
}

/* A kill of the timewait socket at this address waits in some CPU's twcancels (tw_settle). */
static __always_inline bool tw_kill_pending(__u64 key)
{
	struct twcancel *p;
	__u32 idx = 0;

	for (__u32 cpu = 0; cpu < nr_cpus && cpu < TCPSCOPE_MAX_CPUS; cpu++) {
		p = bpf_map_lookup_percpu_elem(&twcancels, &idx, cpu);
		if (p && p->timer && p->snap.key == key)
			return true;
	}
	return false;
}

/* A timewait socket held as FIN_WAIT2 whose tw_substate is TIME_WAIT got the peer's FIN
 * unseen (the late FIN_WAIT2 -> TIME_WAIT): it moves now, dated as its exit would date it.
 * s: tw_snap() of the socket at x's address. */
static __always_inline void recount_substate(struct twctx *x, struct twsnap *s)
{
	struct tcpscope_agg *a;

	if (x->substate != TCP_FIN_WAIT2 || !s->tracked || s->cookie != x->cookie ||
	    s->substate != TCP_TIME_WAIT)
		return;
	a = agg_of_ns(s->netns);
	late_substate(s, conn_lookup(s->cookie), a, x);
	if (x->gauged)
		tw_gauge(a, TCP_FIN_WAIT2, TCP_TIME_WAIT);
	x->substate = TCP_TIME_WAIT;
	if (a)
		pcpu_add(a->tw_recounted, 1);
}

/*
 * The same for timewait sockets: an entry of the walked namespace, older than the walk (gen),
 * that the walk did not meet. The socket itself decides, as tw_fate() does (timewait sockets
 * are SLAB_TYPESAFE_BY_RCU: the memory at the key is read safely):
 *  - still hashed with the entry's cookie: alive, and the walk missed it. Debian's 6.1 and
 *    6.12 iterators do (their bpf_iter_tcp_batch(), kernel.rst, "The kernel's tcp
 *    iterator"): the same few sockets in every walk. It is recounted here instead.
 *  - another cookie there, or unhashed: gone, its exit lost in a run the kernel skipped,
 *    unless a kill of it waits for the next timer event on its CPU. Counted out.
 */
static long reap_tw(struct bpf_map *map, __u64 *key, struct twctx *x, void *ctx)
{
	struct inet_timewait_sock *tw = (void *)*key;
	struct twsnap s = {};

	if (x->netns != recount_netns || x->gen == recount_gen || !x->cookie)
		return 0;
	if (BPF_CORE_READ(&tw->__tw_common, skc_nulls_node.pprev)) {
		tw_snap(tw, TCPSCOPE_TW_CAUSE_UNKNOWN, bpf_ktime_get_ns(), &s);
		/* read again: freed and reused while it was read, the rest is not its own */
		if (s.cookie == x->cookie &&
		    BPF_CORE_READ(&tw->__tw_common, skc_cookie.counter) == x->cookie) {
			recount_substate(x, &s);
			return 0;
		}
	}
	if (tw_kill_pending(*key))
		return 0; /* killed: its exit is counted at the next timer event on that CPU */
	tw_forget(x);
	bpf_map_delete_elem(&twctxs, key);
	return 0;
}

/*
 * The recount: the gauges put right from the kernel's own state. The agent runs this
 * iterator in a namespace before it reads a snapshot, at most once per 5 s: where its gauges
 * hold orphaned FIN_WAIT2 timewait sockets (tw_orphans: the late FIN_WAIT2 -> TIME_WAIT, see
 * late_substate), after skipped runs, and every 5 s. Each socket met is compared with what
 * we hold of it; the walk's closing call (no socket) takes out what it did not meet and is
 * gone (reap_conn, reap_tw). Documentation/tcpscope/kernel.rst, "Reconciling with the
 * kernel's state".
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
	__u64 key, cookie;
	__u8 state;
	long err;

	if (!skc) { /* the walk is over (bpf_iter_tcp_seq_stop) */
		bpf_for_each_map_elem(&conns, reap_conn, NULL, 0);
		bpf_for_each_map_elem(&twctxs, reap_tw, NULL, 0);
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
	cookie = BPF_CORE_READ(skc, skc_cookie.counter);
	x = bpf_map_lookup_elem(&twctxs, &key);
	if (!x || x->cookie != cookie) {
		/* Its arm was missed: counted from now on (hashed and armed under the bucket lock
		 * the walk takes: never half done). Not once its timer is detached: an expiring
		 * one leaves twctxs before inet_twsk_kill() unhashes it. */
		if (!BPF_CORE_READ(tw, tw_timer.entry.pprev))
			return 0;
		if (x) {
			/* the entry of a timewait socket whose exit was missed, at whose address
			 * this one was made: counted out, as on_tw_armed() would */
			tw_forget(x);
			bpf_map_delete_elem(&twctxs, &key);
		}
		struct twctx n = { .cookie = cookie,
				   .substate = BPF_CORE_READ(tw, tw_substate),
				   .netns = skc_netns(skc, false),
				   .lport = skc_lport(skc, false),
				   .gauged = 1,
				   .gen = recount_gen };

		a = agg_of(skc, false);
		err = bpf_map_update_elem(&twctxs, &key, &n, BPF_NOEXIST);
		if (err == 0) {
			tw_gauge(a, 0, n.substate);
		} else if (err == -E2BIG) {
			/* twctxs full: counted as on_tw_armed() counts it, once */
			__u64 *u = bpf_map_lookup_elem(&tw_untracked, &key);

			if (u && *u == cookie)
				return 0;
			gauge_lost(a, TCPSCOPE_CNT_TW_FULL);
			tw_overflowed = 1;
			bpf_map_update_elem(&tw_untracked, &key, &cookie, BPF_ANY);
		} else {
			return 0;
		}
		if (a) /* it entered after start: the agent seeds before it recounts */
			pcpu_add(a->tw_entered, 1);
		counter_inc(TCPSCOPE_CNT_RECOUNTED);
		return 0;
	}
	x->gen = recount_gen;
	if (x->substate != TCP_FIN_WAIT2)
		return 0;
	tw_snap(tw, TCPSCOPE_TW_CAUSE_UNKNOWN, bpf_ktime_get_ns(), &s);
	recount_substate(x, &s);
	return 0;
}

#endif /* __TCPSCOPE_WALKS_H */
