// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/sys/net/tcpscope: per-netns knobs, stricter than the kernel's own sysctls.
 *
 * knobs[] describes each knob once: its sysctl entry with the bounds in extra1/extra2, the
 * kernel handler that converts and bounds its value, and where the value lives (a field of
 * struct net it mirrors, or the module's own in struct tcpscope_net). Each netns gets a copy
 * of the entries whose .data points at its struct tcpscope_net (ensure_safe_net_sysctl
 * wants per-net memory there); the handlers find their knob by the entry's index.
 *
 * A read shows the kernel's live value. A write is parsed whole (one integer, decimal or
 * 0x/0 prefixed, surrounding blanks allowed; for ack_ports the list); anything else -
 * empty, garbage, trailing text, overflow, out of range, unknown bits - fails with EINVAL
 * and changes nothing.
 * Each accepted write is journaled (/proc/net/tcpscope/journal). Writes need CAP_NET_ADMIN
 * over the netns: the kernel's net sysctl permissions, checked again here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/tcp.h>

#include "compat.h"
#include "tcpscope_kmod.h"

struct ts_knob_desc {
	struct ctl_table ctl;		/* .data set per netns */
	/* an integer knob's value in its raw unit: formats it, parses and bounds it
	 * (ctl.extra1, ctl.extra2); the kernel's handler or a thin wrapper of one */
	proc_handler *value_handler;
	size_t offset;			/* of the value, in struct net if mirrored, else in
					 * struct tcpscope_net */
	bool mirrored;			/* a kernel sysctl, given back at unload */
};

/*
 * The value_handlers. They run on a copy of the knob's entry whose .data is a local int, so
 * a value out of bounds is refused after the kernel's handler stored it there.
 */
static int check_bounds(ts_ctl_table *table)
{
	int val = *(int *)table->data;

	if ((table->extra1 && val < *(int *)table->extra1) ||
	    (table->extra2 && val > *(int *)table->extra2))
		return -EINVAL;
	return 0;
}

/* proc_dointvec_minmax, and only the bits of extra2 */
static int ts_dointvec_bits(ts_ctl_table *table, int write, void *buffer, size_t *lenp,
			    loff_t *ppos)
{
	int err = proc_dointvec_minmax(table, write, buffer, lenp, ppos);

	if (err || !write)
		return err;
	return *(int *)table->data & ~*(int *)table->extra2 ? -EINVAL : 0;
}

/* proc_dointvec_jiffies (seconds shown, jiffies kept) within extra1..extra2 jiffies */
static int ts_dointvec_jiffies_minmax(ts_ctl_table *table, int write, void *buffer,
				      size_t *lenp, loff_t *ppos)
{
	int err = proc_dointvec_jiffies(table, write, buffer, lenp, ppos);

	return err || !write ? err : check_bounds(table);
}

/* proc_dointvec_ms_jiffies (milliseconds shown, jiffies kept, rounded up): 0, or within
 * extra1..extra2 jiffies. The kernel's proc_dointvec_ms_jiffies_minmax is not exported. */
static int ts_dointvec_ms_jiffies_off_or_minmax(ts_ctl_table *table, int write, void *buffer,
					 size_t *lenp, loff_t *ppos)
{
	int err = proc_dointvec_ms_jiffies(table, write, buffer, lenp, ppos);

	if (err || !write || !*(int *)table->data)
		return err;
	return check_bounds(table);
}

static int knob_handler(ts_ctl_table *table, int write, void *buffer, size_t *lenp,
			loff_t *ppos);
static int ports_handler(ts_ctl_table *table, int write, void *buffer, size_t *lenp,
			 loff_t *ppos);

/* the bounds bpf_setsockopt(TCP_BPF_DELACK_MAX) enforces, in jiffies */
static int delack_max_min = TCP_TIMEOUT_MIN;
static int delack_max_max = TCP_DELACK_MAX;
static int fastopen_bits = TFO_CLIENT_ENABLE | TFO_SERVER_ENABLE | TFO_CLIENT_NO_COOKIE |
			   TFO_SERVER_COOKIE_NOT_REQD | TFO_SERVER_WO_SOCKOPT1;
/* 1 s up to TCP_LINGER2's cap, 120 s, in jiffies */
static int fin_timeout_min = HZ;
static int fin_timeout_max = TCP_FIN_TIMEOUT_MAX;

#define TS_INT_KNOB(_name, _handler, _min, _max)					\
	.ctl = {									\
		.procname	= _name,						\
		.maxlen		= sizeof(int),						\
		.mode		= 0644,							\
		.proc_handler	= knob_handler,						\
		.extra1		= _min,							\
		.extra2		= _max,							\
	},										\
	.value_handler = _handler

static const struct ts_knob_desc knobs[TS_NKNOBS] = {
	/* the delayed-ACK knobs apply to connections with a local or remote port in this
	 * list ("80,443,8000-8099", up to TS_PORTS_MAX), or "all" */
	[TS_ACK_PORTS] = {
		.ctl = {
			.procname	= "ack_ports",
			.maxlen		= TS_VALUE_LEN,
			.mode		= 0644,
			.proc_handler	= ports_handler,
		},
	},
	/* cap on the delayed-ACK timer of connections established from now on (0 = the
	 * kernel's 200 ms), applied per socket at ESTABLISHED the way TCP_BPF_DELACK_MAX does
	 * (icsk_delack_max, ack.c); shown in ms, rounded up to whole jiffies */
	[TS_DELACK_MAX_MS] = {
		TS_INT_KNOB("delack_max_ms", ts_dointvec_ms_jiffies_off_or_minmax, &delack_max_min,
			    &delack_max_max),
		.offset = offsetof(struct tcpscope_net, delack_max_jiffies),
	},
	/* net.ipv4.tcp_fastopen, known TFO_* bits only */
	[TS_FASTOPEN] = {
		TS_INT_KNOB("fastopen", ts_dointvec_bits, SYSCTL_ZERO, &fastopen_bits),
		.offset = offsetof(struct net, ipv4.sysctl_tcp_fastopen),
		.mirrored = true,
	},
	/* net.ipv4.tcp_fin_timeout, shown in seconds */
	[TS_FIN_TIMEOUT] = {
		TS_INT_KNOB("fin_timeout", ts_dointvec_jiffies_minmax, &fin_timeout_min,
			    &fin_timeout_max),
		.offset = offsetof(struct net, ipv4.sysctl_tcp_fin_timeout),
		.mirrored = true,
	},
	/* 1: connections established from now on ACK every data segment at once (ack.c),
	 * 0: the kernel decides */
	[TS_QUICKACK] = {
		TS_INT_KNOB("quickack", proc_dointvec_minmax, SYSCTL_ZERO, SYSCTL_ONE),
		.offset = offsetof(struct tcpscope_net, quickack),
	},
	/* 1: give mirrored values back at unload, 0: keep them */
	[TS_RESTORE_ON_UNLOAD] = {
		TS_INT_KNOB("restore_on_unload", proc_dointvec_minmax, SYSCTL_ZERO, SYSCTL_ONE),
		.offset = offsetof(struct tcpscope_net, restore_on_unload),
	},
};

/* What a netns starts with; the mirrored knobs start from the kernel's values. */
void ts_knobs_set_defaults(struct tcpscope_net *tn)
{
	tn->restore_on_unload = 1;
	tn->delack_max_jiffies = 0;
	tn->quickack = 0;
	RCU_INIT_POINTER(tn->ack_ports, NULL);	/* all ports */
}

/* The whole write, blanks around it trimmed, as a string in buf; -EINVAL when it is
 * empty, too long or not written at offset 0. */
static int write_text(const void *buffer, size_t len, loff_t pos, char *buf, size_t size,
		      char **text)
{
	if (pos || !len || len >= size)
		return -EINVAL;
	memcpy(buf, buffer, len);
	buf[len] = '\0';
	*text = strim(buf);
	return **text ? 0 : -EINVAL;
}

/* The whole write as one integer, or -EINVAL. */
static int parse_int(const void *buffer, size_t len, loff_t pos, int *val)
{
	char buf[32], *s;

	if (write_text(buffer, len, pos, buf, sizeof(buf), &s) || kstrtoint(s, 0, val))
		return -EINVAL;
	return 0;
}

/* One port (1..65535) or range LO-HI of a port list, n characters at s. */
static int parse_range(const char *s, size_t n, u16 *lo, u16 *hi)
{
	char tok[16], *dash;

	if (n >= sizeof(tok))
		return -EINVAL;
	memcpy(tok, s, n);
	tok[n] = '\0';
	dash = strchr(tok, '-');
	if (dash)
		*dash++ = '\0';
	if (kstrtou16(tok, 10, lo) || !*lo)
		return -EINVAL;
	*hi = *lo;
	if (dash && (kstrtou16(dash, 10, hi) || *hi < *lo))
		return -EINVAL;
	return 0;
}

/* "all", or up to TS_PORTS_MAX ports or ranges separated by commas and/or blanks (no
 * empty item: "80,,443" and "80," fail). *out is NULL for "all". */
static int parse_ports(const char *s, struct ts_ports **out)
{
	bool need_item = true;	/* at the start and after a comma */
	struct ts_ports *p;

	*out = NULL;
	if (!strcmp(s, "all"))
		return 0;
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	while (*s) {
		size_t n;

		if (isspace(*s)) {
			s++;
			continue;
		}
		if (*s == ',') {
			if (need_item)
				goto bad;
			need_item = true;
			s++;
			continue;
		}
		n = strcspn(s, ", \t\n");
		if (p->n == TS_PORTS_MAX || parse_range(s, n, &p->r[p->n].lo, &p->r[p->n].hi))
			goto bad;
		p->n++;
		need_item = false;
		s += n;
	}
	if (need_item)
		goto bad;
	*out = p;
	return 0;
bad:
	kfree(p);
	return -EINVAL;
}

static void ports_format(const struct ts_ports *p, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	if (!p) {
		strscpy(buf, "all", len);
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < p->n; i++) {
		off += scnprintf(buf + off, len - off, i ? ",%u" : "%u", p->r[i].lo);
		if (p->r[i].hi != p->r[i].lo)
			off += scnprintf(buf + off, len - off, "-%u", p->r[i].hi);
	}
}

static void journal(struct tcpscope_net *tn, enum ts_knob knob, const char *old,
		    const char *new)
{
	struct ts_journal_entry *e = &tn->journal[tn->journal_total % TS_JOURNAL_LEN];

	lockdep_assert_held(&tn->lock);
	e->time = ktime_get_real_seconds();
	e->knob = knob;
	strscpy(e->old, old, sizeof(e->old));
	strscpy(e->new, new, sizeof(e->new));
	e->pid = task_tgid_vnr(current);
	get_task_comm(e->comm, current);
	tn->journal_total++;
}

/* An integer knob's value in this netns: the mirrored kernel field or the module's own. */
static int *knob_value(struct tcpscope_net *tn, enum ts_knob knob)
{
	const struct ts_knob_desc *k = &knobs[knob];

	return (int *)((k->mirrored ? (char *)tn->net : (char *)tn) + k->offset);
}

/* An integer knob's raw value as a read shows it, without the newline. */
static void knob_text(enum ts_knob knob, int raw, char *buf, size_t size)
{
	struct ctl_table tmp = knobs[knob].ctl;
	size_t len = size - 1;
	loff_t pos = 0;

	tmp.data = &raw;
	if (knobs[knob].value_handler(&tmp, 0, buf, &len, &pos))
		len = 0;
	if (len && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
}

static int knob_handler(ts_ctl_table *table, int write, void *buffer, size_t *lenp,
			loff_t *ppos)
{
	struct tcpscope_net *tn = table->data;
	enum ts_knob knob = table - tn->table;
	struct ts_mirror *m = knobs[knob].mirrored ? &tn->mirror[knob] : NULL;
	int *field = knob_value(tn, knob);
	char num[16], old[16], new[16];
	struct ctl_table tmp = *table;
	size_t len;
	loff_t pos = 0;
	int val, prev;

	tmp.data = &val;
	if (!write) {
		val = READ_ONCE(*field);
		return knobs[knob].value_handler(&tmp, 0, buffer, lenp, ppos);
	}
	if (!ns_capable(tn->net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	/* The kernel's handlers would take "1 2" as 1 and stop: the write must be one
	 * integer as a whole. They get it in their own syntax, to convert and bound. */
	if (parse_int(buffer, *lenp, *ppos, &val))
		return -EINVAL;
	len = scnprintf(num, sizeof(num), "%d", val);
	if (knobs[knob].value_handler(&tmp, 1, num, &len, &pos))
		return -EINVAL;

	mutex_lock(&tn->lock);
	prev = READ_ONCE(*field);
	if (m && !m->changed) {
		m->orig = prev;
		m->changed = true;
	}
	/* paired with READ_ONCE() in ts_on_established() and, for a mirrored field, in
	 * the kernel's readers (tcp_fin_time(), tcp_fastopen_no_cookie(), ...) */
	WRITE_ONCE(*field, val);
	if (m)
		m->set = val;
	knob_text(knob, prev, old, sizeof(old));
	knob_text(knob, val, new, sizeof(new));
	journal(tn, knob, old, new);
	mutex_unlock(&tn->lock);
	*ppos += *lenp;
	return 0;
}

static int ports_handler(ts_ctl_table *table, int write, void *buffer, size_t *lenp,
			 loff_t *ppos)
{
	struct tcpscope_net *tn = table->data;
	char buf[4 * TS_VALUE_LEN], old[TS_VALUE_LEN], new[TS_VALUE_LEN], *text;
	struct ctl_table tmp = *table;
	struct ts_ports *p, *prev;
	int err;

	if (!write) {
		rcu_read_lock();
		ports_format(rcu_dereference(tn->ack_ports), old, sizeof(old));
		rcu_read_unlock();
		tmp.data = old;
		tmp.maxlen = sizeof(old);
		return proc_dostring(&tmp, 0, buffer, lenp, ppos);
	}
	if (!ns_capable(tn->net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	err = write_text(buffer, *lenp, *ppos, buf, sizeof(buf), &text);
	if (!err)
		err = parse_ports(text, &p);
	if (err)
		return err == -ENOMEM ? err : -EINVAL;
	ports_format(p, new, sizeof(new));
	mutex_lock(&tn->lock);
	prev = rcu_replace_pointer(tn->ack_ports, p, lockdep_is_held(&tn->lock));
	ports_format(prev, old, sizeof(old));
	journal(tn, TS_ACK_PORTS, old, new);
	mutex_unlock(&tn->lock);
	if (prev)
		kfree_rcu(prev, rcu);
	*ppos += *lenp;
	return 0;
}

static int journal_show(struct seq_file *seq, void *v)
{
	struct tcpscope_net *tn = ts_net(seq_file_single_net(seq));
	u64 i, first;

	mutex_lock(&tn->lock);
	first = tn->journal_total > TS_JOURNAL_LEN ? tn->journal_total - TS_JOURNAL_LEN : 0;
	seq_printf(seq, "# writes %llu, last %llu kept\n", tn->journal_total,
		   tn->journal_total - first);
	seq_puts(seq, "# TIME KNOB OLD NEW PID COMM\n");
	for (i = first; i < tn->journal_total; i++) {
		struct ts_journal_entry *e = &tn->journal[i % TS_JOURNAL_LEN];

		seq_printf(seq, "%ptT %s %s %s %d %s\n", &e->time, knobs[e->knob].ctl.procname,
			   e->old, e->new, e->pid, e->comm);
	}
	mutex_unlock(&tn->lock);
	return 0;
}

int ts_knobs_init(struct net *net, struct tcpscope_net *tn)
{
	int i;

	tn->journal = kvcalloc(TS_JOURNAL_LEN, sizeof(*tn->journal), GFP_KERNEL);
	if (!tn->journal)
		return -ENOMEM;
	tn->table = kcalloc(TS_NKNOBS + TS_SYSCTL_SENTINEL, sizeof(*tn->table), GFP_KERNEL);
	if (!tn->table)
		goto out_journal;
	for (i = 0; i < TS_NKNOBS; i++) {
		tn->table[i] = knobs[i].ctl;
		tn->table[i].data = tn;
	}
	tn->sysctl_hdr = ts_register_sysctl(net, "net/tcpscope", tn->table, TS_NKNOBS);
	if (!tn->sysctl_hdr)
		goto out_table;
	if (!proc_create_net_single("journal", 0444, tn->proc_dir, journal_show, NULL))
		goto out_sysctl;
	return 0;

out_sysctl:
	unregister_net_sysctl_table(tn->sysctl_hdr);
out_table:
	kfree(tn->table);
out_journal:
	kvfree(tn->journal);
	return -ENOMEM;
}

/* Give back a mirrored value unless told not to or someone else changed it since. */
static void restore(struct tcpscope_net *tn, enum ts_knob knob)
{
	const struct ts_mirror *m = &tn->mirror[knob];
	int *field = knob_value(tn, knob);
	char now[16];

	if (!m->changed)
		return;
	if (!tn->restore_on_unload) {
		knob_text(knob, READ_ONCE(*field), now, sizeof(now));
		pr_info("%s: %s left at %s (restore_on_unload=0)\n",
			net_eq(tn->net, &init_net) ? "init_net" : "netns",
			knobs[knob].ctl.procname, now);
		return;
	}
	if (READ_ONCE(*field) != m->set) {
		pr_info("%s changed by someone else since tcpscope set it; left as is\n",
			knobs[knob].ctl.procname);
		return;
	}
	WRITE_ONCE(*field, m->orig);	/* paired as in knob_handler() */
}

void ts_knobs_exit(struct net *net, struct tcpscope_net *tn)
{
	int i;

	remove_proc_entry("journal", tn->proc_dir);
	unregister_net_sysctl_table(tn->sysctl_hdr);	/* waits for running handlers */
	kfree(tn->table);
	kvfree(tn->journal);
	kfree(rcu_dereference_protected(tn->ack_ports, true));	/* no probe left: pre_exit */
	if (!check_net(net))
		return;	/* the netns is going away: nothing to give back to */
	/* backwards: fin_timeout's kernel log line before fastopen's, as they always came */
	for (i = TS_NKNOBS - 1; i >= 0; i--)
		if (knobs[i].mirrored)
			restore(tn, i);
}
