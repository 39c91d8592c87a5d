/* SPDX-License-Identifier: GPL-2.0 */
/* CO-RE helpers: kernel struct flavors, reading a socket, per-CPU counting.
 * Part of tcpscope.bpf.c, the one compilation unit: included there, in order. */
#ifndef __TCPSCOPE_CORE_H
#define __TCPSCOPE_CORE_H

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

#endif /* __TCPSCOPE_CORE_H */
