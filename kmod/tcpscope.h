/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcpscope.ko: what the parts share. Everything lives per network namespace in a
 * struct tcpscope_net (pernet_operations, net_generic): the transition counters fed by
 * the sock:inet_sock_set_state tracepoint (stats.c), the knobs under
 * /proc/sys/net/tcpscope with their journal and what to restore (knobs.c).
 */
#ifndef TCPSCOPE_H
#define TCPSCOPE_H

#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#define TS_NSTATES 16		/* >= TCP_MAX_STATES on every supported kernel */
#define TS_JOURNAL_LEN 64	/* knob writes kept per netns (the total is counted) */

struct ts_pcpu {
	u64 trans[TS_NSTATES][TS_NSTATES];	/* [old][new] transitions since load */
};

enum ts_knob { TS_FIN_TIMEOUT, TS_FASTOPEN, TS_DELACK_MAX_MS, TS_RESTORE_ON_UNLOAD, TS_NKNOBS };

struct ts_journal_entry {
	time64_t time;			/* wall clock, seconds */
	enum ts_knob knob;
	int old, new;			/* in the knob's unit (seconds for fin_timeout) */
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

/* A kernel value the module may change and must give back at unload. */
struct ts_mirror {
	bool changed;
	int orig;			/* the kernel's value before the first write (raw unit) */
	int set;			/* the last value written (raw unit) */
};

struct tcpscope_net {
	struct ts_pcpu __percpu *pcpu;	/* NULL from pre_exit on: the probe skips this netns */
	struct ts_pcpu __percpu *pcpu_mem;	/* the allocation, freed at exit */
	struct ctl_table_header *sysctl_hdr;
	struct ctl_table *table;
	struct proc_dir_entry *proc_dir;
	struct mutex lock;		/* knob writes, mirrors, journal */
	struct ts_mirror fin_timeout, fastopen;
	int restore_on_unload;
	int delack_max_ms;		/* as applied: rounded to jiffies, 0 = kernel default */
	unsigned int delack_max_jiffies;	/* read by the probe; 0 = leave sockets alone */
	struct ts_journal_entry journal[TS_JOURNAL_LEN];
	u64 journal_total;
};

extern unsigned int tcpscope_net_id;

static inline struct tcpscope_net *ts_net(const struct net *net)
{
	return net_generic(net, tcpscope_net_id);
}

const char *ts_knob_name(enum ts_knob knob);

int ts_knobs_init(struct net *net, struct tcpscope_net *tn);
void ts_knobs_exit(struct net *net, struct tcpscope_net *tn);
int ts_stats_init(struct net *net, struct tcpscope_net *tn);
void ts_stats_exit(struct net *net, struct tcpscope_net *tn);
void ts_count_transition(const struct sock *sk, int oldstate, int newstate);
void ts_on_established(struct sock *sk);

#endif /* TCPSCOPE_H */
