// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/net/tcpscope: per-netns TCP state statistics as stable text (seq_file).
 *
 *   transitions  "OLD NEW COUNT" for every (old, new) pair seen since the module loaded
 *                (per-CPU counters fed by the sock:inet_sock_set_state probe)
 *   counters     "NAME VALUE" since the module loaded: TIME_WAIT entered and left, what
 *                the delayed-ACK knobs were applied to, and the kernel's own SNMP counters
 *                for keepalive probes, delayed ACKs and Fast Open outcomes as deltas
 *   states       sockets of this netns per state now, counted like `ss -tan` does: the
 *                listening hash and the established hash walked under their bucket locks,
 *                timewait sockets under their substate, request sockets as SYN_RECV; then
 *                "tw_sockets", the count /proc/net/sockstat shows as "tw"
 *   journal      the knob writes (knobs.c)
 *
 * Reading "transitions" and "counters" costs O(CPUs); "states" O(hash buckets + sockets of
 * all netns sharing the hash table), like /proc/net/tcp.
 *
 * TIME_WAIT is invisible to the tracepoint, and the full socket's FIN_WAIT2/CLOSING ->
 * CLOSE does not tell a handoff from the rest: tcp_set_state() unhashes the socket before
 * the tracepoint fires, so a reset, an orphan timeout with the timewait table full and an
 * abort all look alike. "Entered" is the kernel's own count instead: __inet_twsk_schedule()
 * adds every new timewait socket to TcpExtTW or TcpExtTWKilled (a short timeout), so it is
 * their delta since load in this netns. "Left" follows: the timewait sockets now = those at
 * load + entered - left.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/inet_hashtables.h>
#include <net/inet_timewait_sock.h>
#include <net/ip.h>
#include <net/tcp.h>

#include "tcpscope_kmod.h"

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
	/* paired with WRITE_ONCE() in ts_proc_net_init() and tcpscope_net_pre_exit() */
	struct ts_pcpu __percpu *pcpu = READ_ONCE(ts_net(sock_net(sk))->pcpu);

	if (!pcpu || (unsigned int)oldstate >= TS_NSTATES || (unsigned int)newstate >= TS_NSTATES)
		return;
	this_cpu_inc(pcpu->trans[oldstate][newstate]);
}

/* Timewait sockets this netns ever made: TcpExtTW + TcpExtTWKilled, both counted when
 * __inet_twsk_schedule() first arms the timer. */
static u64 tw_made(struct net *net)
{
	return snmp_fold_field(net->mib.net_statistics, LINUX_MIB_TIMEWAITED) +
	       snmp_fold_field(net->mib.net_statistics, LINUX_MIB_TIMEWAITKILLED);
}

/* The timewait sockets of this netns, as /proc/net/sockstat counts them ("tw"). */
int ts_tw_sockets(const struct net *net)
{
	return refcount_read(&net->ipv4.tcp_death_row.tw_refcount) - 1;
}

static const int mib_ids[TS_NMIB] = {
	[TS_MIB_KEEPALIVE] = LINUX_MIB_TCPKEEPALIVE,
	[TS_MIB_DELAYED_ACKS] = LINUX_MIB_DELAYEDACKS,
	[TS_MIB_TFO_ACTIVE] = LINUX_MIB_TCPFASTOPENACTIVE,
	[TS_MIB_TFO_ACTIVE_FAIL] = LINUX_MIB_TCPFASTOPENACTIVEFAIL,
	[TS_MIB_TFO_PASSIVE] = LINUX_MIB_TCPFASTOPENPASSIVE,
	[TS_MIB_TFO_PASSIVE_FAIL] = LINUX_MIB_TCPFASTOPENPASSIVEFAIL,
	[TS_MIB_TFO_COOKIE_REQD] = LINUX_MIB_TCPFASTOPENCOOKIEREQD,
	[TS_MIB_TFO_LISTEN_OVERFLOW] = LINUX_MIB_TCPFASTOPENLISTENOVERFLOW,
	[TS_MIB_TFO_BLACKHOLE] = LINUX_MIB_TCPFASTOPENBLACKHOLE,
};

static const char *const mib_names[TS_NMIB] = {
	[TS_MIB_KEEPALIVE] = "keepalive_probes",
	[TS_MIB_DELAYED_ACKS] = "delayed_acks",
	[TS_MIB_TFO_ACTIVE] = "fastopen_active",
	[TS_MIB_TFO_ACTIVE_FAIL] = "fastopen_active_fail",
	[TS_MIB_TFO_PASSIVE] = "fastopen_passive",
	[TS_MIB_TFO_PASSIVE_FAIL] = "fastopen_passive_fail",
	[TS_MIB_TFO_COOKIE_REQD] = "fastopen_cookie_reqd",
	[TS_MIB_TFO_LISTEN_OVERFLOW] = "fastopen_listen_overflow",
	[TS_MIB_TFO_BLACKHOLE] = "fastopen_blackhole",
};

static unsigned long mib_read(struct net *net, enum ts_mib m)
{
	return snmp_fold_field(net->mib.net_statistics, mib_ids[m]);
}

static int counters_show(struct seq_file *seq, void *v)
{
	struct net *net = seq_file_single_net(seq);
	struct tcpscope_net *tn = ts_net(net);
	/* paired as in ts_count_transition() */
	struct ts_pcpu __percpu *pcpu = READ_ONCE(tn->pcpu);
	u64 entered = 0, delack = 0, quick = 0, quick_failed = 0;
	long long left;
	int cpu, tw, m;

	if (!pcpu)
		return 0;
	tw = ts_tw_sockets(net);	/* before the sum: a close in flight is not "left" */
	/* tw_entered holds minus tw_made() at load (ts_proc_net_init), on one CPU */
	entered = tw_made(net);
	for_each_possible_cpu(cpu) {
		const struct ts_pcpu *c = per_cpu_ptr(pcpu, cpu);

		entered += c->tw_entered;
		delack += c->delack_applied;
		quick += c->quickack_applied;
		quick_failed += c->quickack_failed;
	}
	left = (long long)tn->tw0 + entered - tw;
	seq_puts(seq, "# NAME VALUE (this netns, since tcpscope.ko loaded)\n");
	seq_printf(seq, "timewait_entered %llu\n", entered);
	seq_printf(seq, "timewait_left %llu\n", left > 0 ? left : 0);
	seq_printf(seq, "delack_max_applied %llu\n", delack);
	seq_printf(seq, "quickack_applied %llu\n", quick);
	seq_printf(seq, "quickack_failed %llu\n", quick_failed);
	for (m = 0; m < TS_NMIB; m++)
		seq_printf(seq, "%s %lu\n", mib_names[m], mib_read(net, m) - tn->mib0[m]);
	return 0;
}

static int transitions_show(struct seq_file *seq, void *v)
{
	/* paired as in ts_count_transition() */
	struct ts_pcpu __percpu *pcpu = READ_ONCE(ts_net(seq_file_single_net(seq))->pcpu);
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
	seq_printf(seq, "tw_sockets %d\n", ts_tw_sockets(net));
	return 0;
}

int ts_proc_net_init(struct net *net, struct tcpscope_net *tn)
{
	int m;

	tn->pcpu_mem = alloc_percpu(struct ts_pcpu);
	if (!tn->pcpu_mem)
		return -ENOMEM;
	for (m = 0; m < TS_NMIB; m++)
		tn->mib0[m] = mib_read(net, m);
	tn->proc_dir = proc_net_mkdir(net, "tcpscope", net->proc_net);
	if (!tn->proc_dir)
		goto out_pcpu;
	if (!proc_create_net_single("transitions", 0444, tn->proc_dir, transitions_show, NULL) ||
	    !proc_create_net_single("states", 0444, tn->proc_dir, states_show, NULL) ||
	    !proc_create_net_single("counters", 0444, tn->proc_dir, counters_show, NULL))
		goto out_proc_dir;
	tn->tw0 = ts_tw_sockets(net);
	/* the TcpExtTW + TWKilled baseline, kept as a negative count in one CPU's slot:
	 * entered = tw_made() now + the sum of the slots (wrapping u64 arithmetic) */
	per_cpu_ptr(tn->pcpu_mem, cpumask_first(cpu_possible_mask))->tw_entered = -tw_made(net);
	/* counting starts; paired with READ_ONCE() in the probes and the readers above */
	WRITE_ONCE(tn->pcpu, tn->pcpu_mem);
	return 0;

out_proc_dir:
	remove_proc_subtree("tcpscope", net->proc_net);
out_pcpu:
	free_percpu(tn->pcpu_mem);
	return -ENOMEM;
}

void ts_proc_net_exit(struct net *net, struct tcpscope_net *tn)
{
	remove_proc_subtree("tcpscope", net->proc_net);
	/* pre_exit cleared tn->pcpu and an RCU grace period has passed since: no probe
	 * still uses the counters */
	free_percpu(tn->pcpu_mem);
}
