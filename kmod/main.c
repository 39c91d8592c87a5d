// SPDX-License-Identifier: GPL-2.0
/*
 * tcpscope.ko: TCP state statistics per network namespace in /proc/net/tcpscope and knobs in
 * /proc/sys/net/tcpscope, the companion of the tcpscope agent for hosts that want `cat` and
 * `sysctl` rather than an agent. This file ties the parts together: per-netns state
 * (pernet_operations) and the probe on the sock:inet_sock_set_state tracepoint.
 *
 * The tracepoint is not exported to modules, so it is found by name with
 * for_each_kernel_tracepoint() and probed with tracepoint_probe_register(). The probe runs
 * in any context (often softirq) with preemption off: it bumps per-CPU counters and, when
 * a connection is established, applies the netns' delayed-ACK cap to it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/tracepoint.h>
#include <net/sock.h>

#include "tcpscope.h"

unsigned int tcpscope_net_id __read_mostly;

static struct tracepoint *tp_set_state;

static void probe_set_state(void *data, const struct sock *sk, const int oldstate,
			    const int newstate)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return;
	ts_count_transition(sk, oldstate, newstate);
	if (newstate == TCP_ESTABLISHED)
		ts_on_established((struct sock *)sk);
}

static void find_tracepoint(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "inet_sock_set_state"))
		tp_set_state = tp;
}

static int __net_init tcpscope_net_init(struct net *net)
{
	struct tcpscope_net *tn = ts_net(net);
	int err;

	mutex_init(&tn->lock);
	tn->restore_on_unload = 1;
	err = ts_stats_init(net, tn);
	if (err)
		return err;
	err = ts_knobs_init(net, tn);
	if (err)
		ts_stats_exit(net, tn);
	return err;
}

/* Runs before the RCU grace period that precedes .exit: after it no probe sees pcpu. */
static void __net_exit tcpscope_net_pre_exit(struct net *net)
{
	WRITE_ONCE(ts_net(net)->pcpu, NULL);
}

static void __net_exit tcpscope_net_exit(struct net *net)
{
	struct tcpscope_net *tn = ts_net(net);

	ts_knobs_exit(net, tn);	/* unregisters the knobs, then gives mirrored values back */
	ts_stats_exit(net, tn);
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

	for_each_kernel_tracepoint(find_tracepoint, NULL);
	if (!tp_set_state) {
		pr_err("tracepoint sock:inet_sock_set_state not found\n");
		return -ENOENT;
	}
	err = register_pernet_subsys(&tcpscope_net_ops);
	if (err)
		return err;
	err = tracepoint_probe_register(tp_set_state, probe_set_state, NULL);
	if (err) {
		unregister_pernet_subsys(&tcpscope_net_ops);
		return err;
	}
	pr_info("loaded: /proc/net/tcpscope, /proc/sys/net/tcpscope\n");
	return 0;
}

static void __exit tcpscope_exit(void)
{
	tracepoint_probe_unregister(tp_set_state, probe_set_state, NULL);
	tracepoint_synchronize_unregister();
	unregister_pernet_subsys(&tcpscope_net_ops);
	pr_info("unloaded\n");
}

module_init(tcpscope_init);
module_exit(tcpscope_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("tcpscope developers");
MODULE_DESCRIPTION("TCP state statistics and knobs per network namespace");
MODULE_VERSION("0.1");
