/* SPDX-License-Identifier: GPL-2.0 */
/* Keepalive probes, seen through the keepalive timer's re-arm.
 * Part of tcpscope.bpf.c, the one compilation unit: included there, in order. */
#ifndef __TCPSCOPE_KEEPALIVE_H
#define __TCPSCOPE_KEEPALIVE_H

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

#endif /* __TCPSCOPE_KEEPALIVE_H */
