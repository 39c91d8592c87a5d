/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcpscope.ko: what the parts share. Everything lives per network namespace in a
 * struct tcpscope_net (pernet_operations, net_generic): the counters fed by the
 * sock:inet_sock_set_state tracepoint (proc_net.c), the knobs under /proc/sys/net/tcpscope
 * with their journal and what to restore (knobs.c), and what the delayed-ACK knobs apply
 * to connections (ack.c).
 */
#ifndef TCPSCOPE_KMOD_H
#define TCPSCOPE_KMOD_H

#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#define TS_NSTATES 16		/* >= TCP_MAX_STATES on every supported kernel */
#define TS_JOURNAL_LEN 64	/* knob writes kept per netns (the total is counted) */
#define TS_PORTS_MAX 8		/* ports or ranges in ack_ports */
#define TS_VALUE_LEN 96		/* a knob's value as text: "65535-65535," x 8 fits */

struct ts_pcpu {
	u64 trans[TS_NSTATES][TS_NSTATES];	/* [old][new] transitions since load */
	u64 tw_entered;			/* full sockets replaced by a timewait socket */
	u64 delack_applied;		/* connections given the delack_max_ms cap */
	u64 quickack_applied;		/* connections made to ACK at once */
	u64 quickack_failed;		/* ... that could not be (no memory in softirq) */
};

enum ts_knob {
	TS_ACK_PORTS, TS_DELACK_MAX_MS, TS_FASTOPEN, TS_FIN_TIMEOUT, TS_QUICKACK,
	TS_RESTORE_ON_UNLOAD, TS_NKNOBS
};

struct ts_journal_entry {
	time64_t time;			/* wall clock, seconds */
	enum ts_knob knob;
	char old[TS_VALUE_LEN], new[TS_VALUE_LEN];	/* as a read shows them */
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

/* ack_ports: the delayed-ACK knobs apply to connections with a local or remote port in
 * one of these ranges. Replaced whole under RCU; NULL = every port. */
struct ts_ports {
	struct rcu_head rcu;
	int n;
	struct { u16 lo, hi; } r[TS_PORTS_MAX];
};

/* The kernel SNMP counters (/proc/net/netstat TcpExt) shown as deltas since load. */
enum ts_mib { TS_MIB_KEEPALIVE, TS_MIB_DELAYED_ACKS, TS_MIB_TFO_ACTIVE, TS_MIB_TFO_ACTIVE_FAIL,
	      TS_MIB_TFO_PASSIVE, TS_MIB_TFO_PASSIVE_FAIL, TS_MIB_TFO_COOKIE_REQD,
	      TS_MIB_TFO_LISTEN_OVERFLOW, TS_MIB_TFO_BLACKHOLE, TS_NMIB };

/* A kernel value the module may change and must give back at unload. */
struct ts_mirror {
	bool changed;
	int orig;			/* the kernel's value before the first write (raw unit) */
	int set;			/* the last value written (raw unit) */
};

struct tcpscope_net {
	struct net *net;		/* the netns this is part of */
	struct ts_pcpu __percpu *pcpu;	/* NULL from pre_exit on: the probe skips this netns */
	struct ts_pcpu __percpu *pcpu_mem;	/* the allocation, freed at exit */
	struct ctl_table_header *sysctl_hdr;
	struct ctl_table *table;	/* the knobs' sysctl entries, .data = this struct */
	struct proc_dir_entry *proc_dir;
	struct mutex lock;		/* knob writes, mirrors, journal */
	struct ts_mirror mirror[TS_NKNOBS];	/* of the knobs that mirror a kernel value */
	int restore_on_unload;
	int delack_max_jiffies;		/* read by the probe; 0 = leave sockets alone */
	int quickack;			/* read by the probe */
	struct ts_ports __rcu *ack_ports;
	struct ts_journal_entry *journal;	/* TS_JOURNAL_LEN entries, a ring */
	u64 journal_total;
	unsigned long mib0[TS_NMIB];	/* the SNMP counters at load */
	int tw0;			/* timewait sockets at load */
};

extern unsigned int tcpscope_net_id;

static inline struct tcpscope_net *ts_net(const struct net *net)
{
	return net_generic(net, tcpscope_net_id);
}

void ts_knobs_set_defaults(struct tcpscope_net *tn);
int ts_knobs_init(struct net *net, struct tcpscope_net *tn);
void ts_knobs_exit(struct net *net, struct tcpscope_net *tn);
int ts_proc_net_init(struct net *net, struct tcpscope_net *tn);
void ts_proc_net_exit(struct net *net, struct tcpscope_net *tn);
void ts_count_transition(const struct sock *sk, int oldstate, int newstate);
int ts_tw_sockets(const struct net *net);

int ts_ack_init(void);
void ts_ack_exit(void);
void ts_on_established(struct sock *sk);
void ts_on_close(const struct sock *sk);
void ts_on_segment(void *data, struct sock *sk, struct sk_buff *skb);

#endif /* TCPSCOPE_KMOD_H */
