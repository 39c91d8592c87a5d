/* SPDX-License-Identifier: GPL-2.0 */
/* TIME_WAIT: a timewait socket's entry, substate change and exit, seen through its
 * timer.
 * Part of tcpscope.bpf.c, the one compilation unit: included there, in order. */
#ifndef __TCPSCOPE_TIMEWAIT_H
#define __TCPSCOPE_TIMEWAIT_H

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

/* A timewait socket whose exit was missed is counted out of the gauges (its entry is about
 * to be replaced or deleted): when its memory holds a new one, or by a recount (reap_tw). */
static __always_inline void tw_forget(struct twctx *x)
{
	counter_inc(TCPSCOPE_CNT_TW_STALE);
	if (x->gauged)
		tw_gauge(agg_of_ns(x->netns), x->substate, 0);
	if (x->ported)
		port_timewait(x->netns, x->lport, -1);
	x->gauged = 0;
	x->ported = 0;
	x->cookie = 0;
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
		if (x) /* the memory of a timewait socket whose exit we missed holds a new one */
			tw_forget(x);
		n.cookie = cookie;
		n.substate = sub;
		n.netns = netns;
		n.gen = recount_gen;
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

	if (test_drop_tw_exits && s->tracked &&
	    __sync_fetch_and_add(&test_tw_exits, 1) % test_drop_tw_exits == 0)
		return 0;
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
	if (c && !p && !(c->facts & TCPSCOPE_F_TIME_WAIT)) {
		/* Its arm was missed, and with it (or in other skipped runs) the full socket's
		 * last changes: the connection record still holds it as a full socket. It did
		 * enter TIME_WAIT, after start (the record says so); its record leaves the
		 * gauges here, where it is deleted. */
		if (a)
			pcpu_add(a->tw_entered, 1);
		if (c->gauged) {
			agg_gauge(a, c->state, 0);
			c->gauged = 0;
		}
		counter_inc(TCPSCOPE_CNT_RECOUNTED);
	}
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

#endif /* __TCPSCOPE_TIMEWAIT_H */
