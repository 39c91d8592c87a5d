/* SPDX-License-Identifier: GPL-2.0 */
/* Which sockets are tracked and which records are emitted.
 * Part of tcpscope.bpf.c, the one compilation unit: included there, in order. */
#ifndef __TCPSCOPE_FILTERS_H
#define __TCPSCOPE_FILTERS_H

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

#endif /* __TCPSCOPE_FILTERS_H */
