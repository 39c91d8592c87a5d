// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/tcpscope: per-netns TCP state statistics as stable text (seq_file).
 *
 *   transitions  "OLD NEW COUNT" for every (old, new) pair seen since the module loaded
 *                (per-CPU counters fed by the sock:inet_sock_set_state probe)
 *   states       sockets of this netns per state now, counted like `ss -tan` does: the
 *                listening hash and the established hash walked under their bucket locks,
 *                timewait sockets under their substate, request sockets as SYN_RECV; then
 *                "tw_sockets", the count /proc/net/sockstat shows as "tw"
 *   journal      the knob writes (knobs.c)
 *
 * Reading "transitions" costs O(CPUs); "states" O(hash buckets + sockets of all netns
 * sharing the hash table), like /proc/net/tcp.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/inet_hashtables.h>
#include <net/inet_timewait_sock.h>
#include <net/tcp.h>

#include "tcpscope.h"

static const char *const state_names[TS_NSTATES] = {
	[TCP_ESTABLISHED] = "ESTABLISHED", [TCP_SYN_SENT] = "SYN_SENT",
	[TCP_SYN_RECV] = "SYN_RECV",	   [TCP_FIN_WAIT1] = "FIN_WAIT1",
	[TCP_FIN_WAIT2] = "FIN_WAIT2",	   [TCP_TIME_WAIT] = "TIME_WAIT",
	[TCP_CLOSE] = "CLOSE",		   [TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCP_LAST_ACK] = "LAST_ACK",	   [TCP_LISTEN] = "LISTEN",
	[TCP_CLOSING] = "CLOSING",	   [TCP_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

static const char *state_name(int st)
{
	return st < TS_NSTATES && state_names[st] ? state_names[st] : "UNKNOWN";
}

void ts_count_transition(const struct sock *sk, int oldstate, int newstate)
{
	struct ts_pcpu __percpu *pcpu = READ_ONCE(ts_net(sock_net(sk))->pcpu);

	if (pcpu && (unsigned int)oldstate < TS_NSTATES && (unsigned int)newstate < TS_NSTATES)
		this_cpu_inc(pcpu->trans[oldstate][newstate]);
}

static int transitions_show(struct seq_file *seq, void *v)
{
	struct ts_pcpu __percpu *pcpu = ts_net(seq_file_single_net(seq))->pcpu;
	int cpu, o, n;

	seq_puts(seq, "# OLD NEW COUNT\n");
	if (!pcpu)
		return 0;
	for (o = 0; o < TS_NSTATES; o++) {
		for (n = 0; n < TS_NSTATES; n++) {
			u64 sum = 0;

			for_each_possible_cpu(cpu)
				sum += per_cpu_ptr(pcpu, cpu)->trans[o][n];
			if (sum)
				seq_printf(seq, "%s %s %llu\n", state_name(o), state_name(n), sum);
		}
	}
	return 0;
}

static void count_listeners(struct net *net, struct inet_hashinfo *h, unsigned long *count)
{
	unsigned int i;

	for (i = 0; i <= h->lhash2_mask; i++) {
		struct inet_listen_hashbucket *ilb2 = &h->lhash2[i];
		struct hlist_nulls_node *node;
		struct sock *sk;

		if (hlist_nulls_empty(&ilb2->nulls_head))
			continue;
		spin_lock_bh(&ilb2->lock);
		sk_nulls_for_each(sk, node, &ilb2->nulls_head)
			if (net_eq(sock_net(sk), net))
				count[TCP_LISTEN]++;
		spin_unlock_bh(&ilb2->lock);
	}
}

static void count_established(struct net *net, struct inet_hashinfo *h, unsigned long *count)
{
	unsigned int i;

	for (i = 0; i <= h->ehash_mask; i++) {
		struct inet_ehash_bucket *head = &h->ehash[i];
		struct hlist_nulls_node *node;
		struct sock *sk;

		if (hlist_nulls_empty(&head->chain))
			continue;
		spin_lock_bh(inet_ehash_lockp(h, i));
		sk_nulls_for_each(sk, node, &head->chain) {
			int st = sk->sk_state;

			if (!net_eq(sock_net(sk), net))
				continue;
			if (st == TCP_TIME_WAIT)
				st = inet_twsk(sk)->tw_substate;
			else if (st == TCP_NEW_SYN_RECV)
				st = TCP_SYN_RECV;
			if ((unsigned int)st < TS_NSTATES)
				count[st]++;
		}
		spin_unlock_bh(inet_ehash_lockp(h, i));
	}
}

static int states_show(struct seq_file *seq, void *v)
{
	/* the states `ss -tan` can show, in the kernel's order */
	static const int shown[] = { TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV,
				     TCP_FIN_WAIT1,   TCP_FIN_WAIT2, TCP_TIME_WAIT,
				     TCP_CLOSE_WAIT,  TCP_LAST_ACK,  TCP_LISTEN,
				     TCP_CLOSING };
	struct net *net = seq_file_single_net(seq);
	struct inet_hashinfo *h = net->ipv4.tcp_death_row.hashinfo;
	unsigned long count[TS_NSTATES] = {};
	size_t i;

	count_listeners(net, h, count);
	count_established(net, h, count);
	for (i = 0; i < ARRAY_SIZE(shown); i++)
		seq_printf(seq, "%s %lu\n", state_name(shown[i]), count[shown[i]]);
	seq_printf(seq, "tw_sockets %d\n",
		   refcount_read(&net->ipv4.tcp_death_row.tw_refcount) - 1);
	return 0;
}

int ts_stats_init(struct net *net, struct tcpscope_net *tn)
{
	tn->pcpu_mem = alloc_percpu(struct ts_pcpu);
	if (!tn->pcpu_mem)
		return -ENOMEM;
	tn->proc_dir = proc_net_mkdir(net, "tcpscope", net->proc_net);
	if (!tn->proc_dir)
		goto fail;
	if (!proc_create_net_single("transitions", 0444, tn->proc_dir, transitions_show, NULL) ||
	    !proc_create_net_single("states", 0444, tn->proc_dir, states_show, NULL)) {
		remove_proc_subtree("tcpscope", net->proc_net);
		goto fail;
	}
	WRITE_ONCE(tn->pcpu, tn->pcpu_mem);	/* counting starts */
	return 0;
fail:
	free_percpu(tn->pcpu_mem);
	return -ENOMEM;
}

void ts_stats_exit(struct net *net, struct tcpscope_net *tn)
{
	remove_proc_subtree("tcpscope", net->proc_net);
	/* pre_exit cleared tn->pcpu and an RCU grace period has passed since: no probe
	 * still uses the counters */
	free_percpu(tn->pcpu_mem);
}
