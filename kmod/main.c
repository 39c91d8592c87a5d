// SPDX-License-Identifier: GPL-2.0
/*
 * tcpscope.ko: TCP state statistics per network namespace in /proc/net/tcpscope and knobs in
 * /proc/sys/net/tcpscope, the companion of the tcpscope agent for hosts that want `cat` and
 * `sysctl` rather than an agent. This file ties the parts together: per-netns state
 * (pernet_operations) and the probes on two tracepoints: sock:inet_sock_set_state for
 * every state change and tcp:tcp_probe for every segment an established socket receives.
 *
 * The tracepoints are not exported to modules, so they are found by name with
 * for_each_kernel_tracepoint() and probed with tracepoint_probe_register(). The probes run
 * in any context (often softirq) with preemption off and the socket locked: they bump
 * per-CPU counters and apply the netns' delayed-ACK knobs (ack.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/tracepoint.h>
#include <net/sock.h>

#include "tcpscope_kmod.h"

unsigned int tcpscope_net_id __read_mostly;

static struct tracepoint *tp_set_state, *tp_segment;

static void probe_set_state(void *data, const struct sock *sk, const int oldstate,
			    const int newstate)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return;
	ts_count_transition(sk, oldstate, newstate);
	if (newstate == TCP_ESTABLISHED)
		ts_on_established((struct sock *)sk);
	else if (newstate == TCP_CLOSE)
		ts_on_close(sk);
}

static void find_tracepoints(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "inet_sock_set_state"))
		tp_set_state = tp;
	else if (!strcmp(tp->name, "tcp_probe"))
		tp_segment = tp;
}

static int __net_init tcpscope_net_init(struct net *net)
{
	struct tcpscope_net *tn = ts_net(net);
	int err;

	tn->net = net;
	mutex_init(&tn->lock);
	ts_knobs_set_defaults(tn);
	err = ts_proc_net_init(net, tn);
	if (err)
		return err;
	err = ts_knobs_init(net, tn);
	if (err)
		goto out_proc_net;
	return 0;

out_proc_net:
	ts_proc_net_exit(net, tn);
	return err;
}

/* Runs before the RCU grace period that precedes .exit: after it no probe sees pcpu. */
static void __net_exit tcpscope_net_pre_exit(struct net *net)
{
	/* paired with READ_ONCE() in the probes and the /proc/net/tcpscope readers */
	WRITE_ONCE(ts_net(net)->pcpu, NULL);
}

static void __net_exit tcpscope_net_exit(struct net *net)
{
	struct tcpscope_net *tn = ts_net(net);

	ts_knobs_exit(net, tn);	/* unregisters the knobs, then gives mirrored values back */
	ts_proc_net_exit(net, tn);
}

static struct pernet_operations tcpscope_net_ops = {
	.init = tcpscope_net_init,
	.pre_exit = tcpscope_net_pre_exit,
	.exit = tcpscope_net_exit,
	.id = &tcpscope_net_id,
	.size = sizeof(struct tcpscope_net),
};

static int __init tcpscope_init(void)
{
	int err;

	BUILD_BUG_ON(TCP_MAX_STATES > TS_NSTATES);
	for_each_kernel_tracepoint(find_tracepoints, NULL);
	if (!tp_set_state || !tp_segment) {
		pr_err("tracepoint %s not found\n",
		       tp_set_state ? "tcp:tcp_probe" : "sock:inet_sock_set_state");
		return -ENOENT;
	}
	err = ts_ack_init();
	if (err)
		return err;
	err = register_pernet_subsys(&tcpscope_net_ops);
	if (err)
		goto out_ack;
	err = tracepoint_probe_register(tp_set_state, probe_set_state, NULL);
	if (err)
		goto out_pernet;
	err = tracepoint_probe_register(tp_segment, ts_on_segment, NULL);
	if (err)
		goto out_set_state;
	pr_info("loaded: /proc/net/tcpscope, /proc/sys/net/tcpscope\n");
	return 0;

out_set_state:
	tracepoint_probe_unregister(tp_set_state, probe_set_state, NULL);
	tracepoint_synchronize_unregister();
out_pernet:
	unregister_pernet_subsys(&tcpscope_net_ops);
out_ack:
	ts_ack_exit();
	return err;
}

static void __exit tcpscope_exit(void)
{
	tracepoint_probe_unregister(tp_segment, ts_on_segment, NULL);
	tracepoint_probe_unregister(tp_set_state, probe_set_state, NULL);
	tracepoint_synchronize_unregister();
	unregister_pernet_subsys(&tcpscope_net_ops);
	ts_ack_exit();
	rcu_barrier();	/* kfree_rcu() of quick-ACK entries and ack_ports lists */
	pr_info("unloaded\n");
}

module_init(tcpscope_init);
module_exit(tcpscope_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("tcpscope developers");
MODULE_DESCRIPTION("TCP state statistics and knobs per network namespace");
MODULE_VERSION("0.1");
