// SPDX-License-Identifier: GPL-2.0
/*
 * The delayed-ACK knobs at work on connections. When a connection reaches ESTABLISHED and
 * one of its ports is in ack_ports (or ack_ports is "all"):
 *
 *   delack_max_ms  caps its delayed-ACK timer (icsk_delack_max), which is what the kernel's
 *                  own TCP_BPF_DELACK_MAX does from the sockops ESTABLISHED callbacks;
 *   quickack       puts it in a set of quick-ACK sockets. Each data segment such a socket
 *                  receives is then ACKed at once: the tcp:tcp_probe tracepoint, which fires
 *                  at the top of tcp_rcv_established() with the socket locked, sets
 *                  ICSK_ACK_NOW, the kernel's "send the next ACK immediately (once)" flag
 *                  that DCTCP uses, before __tcp_ack_snd_check() decides. TCP_QUICKACK is
 *                  not sticky and the route's RTAX_QUICKACK is not per socket, hence the set.
 *
 * Both last for the connection's life, whatever the knobs do later. The set is one
 * rhashtable keyed by socket address for all netns; a socket leaves it at TCP_CLOSE, which
 * every full socket passes before it is freed.
 */
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <net/inet_connection_sock.h>
#include <net/inet_sock.h>

#include "tcpscope_kmod.h"

struct ts_quick_sock {
	struct rhash_head node;
	const struct sock *sk;
	struct rcu_head rcu;
};

static const struct rhashtable_params quick_params = {
	.key_len = sizeof(const struct sock *),
	.key_offset = offsetof(struct ts_quick_sock, sk),
	.head_offset = offsetof(struct ts_quick_sock, node),
	.automatic_shrinking = true,
};

static struct rhashtable quick_socks;

int ts_ack_init(void)
{
	return rhashtable_init(&quick_socks, &quick_params);
}

static void quick_free(void *ptr, void *arg)
{
	kfree(ptr);
}

/* After the probes are gone: no reader or writer is left. */
void ts_ack_exit(void)
{
	rhashtable_free_and_destroy(&quick_socks, quick_free, NULL);
}

static bool port_listed(u16 port, const struct ts_ports *p)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (port >= p->r[i].lo && port <= p->r[i].hi)
			return true;
	return false;
}

static bool ports_match(struct tcpscope_net *tn, const struct sock *sk)
{
	const struct ts_ports *p;
	bool match;

	rcu_read_lock();
	p = rcu_dereference(tn->ack_ports);
	match = !p || port_listed(inet_sk(sk)->inet_num, p) ||
		port_listed(ntohs(inet_sk(sk)->inet_dport), p);
	rcu_read_unlock();
	return match;
}

static int quick_add(const struct sock *sk)
{
	struct ts_quick_sock *q = kmalloc(sizeof(*q), GFP_ATOMIC);
	int err;

	if (!q)
		return -ENOMEM;
	q->sk = sk;
	err = rhashtable_lookup_insert_fast(&quick_socks, &q->node, quick_params);
	if (err)
		kfree(q);
	return err == -EEXIST ? 0 : err;
}

/* Probe context, the socket locked: a connection of this netns reached ESTABLISHED. */
void ts_on_established(struct sock *sk)
{
	struct tcpscope_net *tn = ts_net(sock_net(sk));
	/* paired with WRITE_ONCE() in tcpscope_net_pre_exit() and ts_proc_net_init() */
	struct ts_pcpu __percpu *pcpu = READ_ONCE(tn->pcpu);
	/* both paired with WRITE_ONCE() in knob_handler() */
	int j = READ_ONCE(tn->delack_max_jiffies);
	bool quick = READ_ONCE(tn->quickack);

	if (!pcpu || (!j && !quick) || !ports_match(tn, sk))
		return;	/* the netns is going away, or nothing to apply */
	if (j) {
		inet_csk(sk)->icsk_delack_max = j;
		this_cpu_inc(pcpu->delack_applied);
	}
	if (quick) {
		if (quick_add(sk))
			this_cpu_inc(pcpu->quickack_failed);
		else
			this_cpu_inc(pcpu->quickack_applied);
	}
}

void ts_on_close(const struct sock *sk)
{
	struct ts_quick_sock *q;

	if (!atomic_read(&quick_socks.nelems))
		return;
	rcu_read_lock();
	q = rhashtable_lookup(&quick_socks, &sk, quick_params);
	if (q && !rhashtable_remove_fast(&quick_socks, &q->node, quick_params))
		kfree_rcu(q, rcu);
	rcu_read_unlock();
}

/* tcp:tcp_probe, first thing in tcp_rcv_established(), for every segment received. */
void ts_on_segment(void *data, struct sock *sk, struct sk_buff *skb)
{
	if (!atomic_read(&quick_socks.nelems))
		return;
	rcu_read_lock();
	if (rhashtable_lookup(&quick_socks, &sk, quick_params))
		inet_csk(sk)->icsk_ack.pending |= ICSK_ACK_NOW;
	rcu_read_unlock();
}
