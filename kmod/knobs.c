// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/sys/net/tcpscope: per-netns knobs, stricter than the kernel's own sysctls.
 *
 *   ack_ports          the delayed-ACK knobs apply to connections with a local or remote
 *                      port in this list ("80,443,8000-8099", up to 8), or "all"
 *   delack_max_ms      cap on the delayed-ACK timer of connections established from now
 *                      on (0 = the kernel's 200 ms), applied per socket at ESTABLISHED the
 *                      way TCP_BPF_DELACK_MAX does (icsk_delack_max), rounded to jiffies
 *   fastopen           mirrors net.ipv4.tcp_fastopen (known TFO_* bits only)
 *   fin_timeout        mirrors net.ipv4.tcp_fin_timeout (seconds, 1..120)
 *   quickack           1: connections established from now on ACK every data segment at
 *                      once (ack.c), 0: the kernel decides (default)
 *   restore_on_unload  1: give mirrored values back at unload (default), 0: keep them
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

#define TS_FIN_TIMEOUT_MAX_S (TCP_FIN_TIMEOUT_MAX / HZ)	/* TCP_LINGER2's cap: 120 s */
#define TS_FASTOPEN_BITS (TFO_CLIENT_ENABLE | TFO_SERVER_ENABLE | TFO_CLIENT_NO_COOKIE | \
			  TFO_SERVER_COOKIE_NOT_REQD | TFO_SERVER_WO_SOCKOPT1)

static const char *const knob_names[TS_NKNOBS] = {
	[TS_ACK_PORTS] = "ack_ports",
	[TS_DELACK_MAX_MS] = "delack_max_ms",
	[TS_FASTOPEN] = "fastopen",
	[TS_FIN_TIMEOUT] = "fin_timeout",
	[TS_QUICKACK] = "quickack",
	[TS_RESTORE_ON_UNLOAD] = "restore_on_unload",
};

const char *ts_knob_name(enum ts_knob knob)
{
	return knob < TS_NKNOBS ? knob_names[knob] : "?";
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

static void journal_int(struct tcpscope_net *tn, enum ts_knob knob, int old, int new)
{
	char o[16], n[16];

	snprintf(o, sizeof(o), "%d", old);
	snprintf(n, sizeof(n), "%d", new);
	journal(tn, knob, o, n);
}

/* the kernel field a knob mirrors, and the factor from the knob's unit to the field's */
static int *mirrored(struct net *net, struct tcpscope_net *tn, enum ts_knob knob,
		     struct ts_mirror **m, int *scale)
{
	*scale = 1;
	switch (knob) {
	case TS_FIN_TIMEOUT:
		*m = &tn->fin_timeout;
		*scale = HZ;
		return &net->ipv4.sysctl_tcp_fin_timeout;
	case TS_FASTOPEN:
		*m = &tn->fastopen;
		return &net->ipv4.sysctl_tcp_fastopen;
	case TS_DELACK_MAX_MS:
		*m = NULL;
		return &tn->delack_max_ms;
	case TS_QUICKACK:
		*m = NULL;
		return &tn->quickack;
	default:
		*m = NULL;
		return &tn->restore_on_unload;
	}
}

static bool valid(enum ts_knob knob, int val)
{
	switch (knob) {
	case TS_FIN_TIMEOUT:
		return val >= 1 && val <= TS_FIN_TIMEOUT_MAX_S;
	case TS_FASTOPEN:
		return val >= 0 && !(val & ~TS_FASTOPEN_BITS);
	case TS_DELACK_MAX_MS:	/* the bounds bpf_setsockopt(TCP_BPF_DELACK_MAX) enforces */
		return val == 0 || (val > 0 && val <= 1000 &&
				    msecs_to_jiffies(val) >= TCP_TIMEOUT_MIN &&
				    msecs_to_jiffies(val) <= TCP_DELACK_MAX);
	case TS_QUICKACK:
	case TS_RESTORE_ON_UNLOAD:
		return val == 0 || val == 1;
	default:
		return false;
	}
}

static int knob_handler(ts_ctl_table *table, int write, void *buffer, size_t *lenp,
			loff_t *ppos)
{
	struct tcpscope_net *tn = table->data;
	struct net *net = table->extra1;
	enum ts_knob knob = (enum ts_knob)(unsigned long)table->extra2;
	struct ctl_table tmp = *table;
	struct ts_mirror *m;
	int *field, scale, val, old, err;

	field = mirrored(net, tn, knob, &m, &scale);
	if (!write) {
		val = READ_ONCE(*field) / scale;
		tmp.data = &val;
		tmp.maxlen = sizeof(val);
		return proc_dointvec(&tmp, 0, buffer, lenp, ppos);
	}
	if (!ns_capable(net->user_ns, CAP_NET_ADMIN))
		return -EPERM;
	err = parse_int(buffer, *lenp, *ppos, &val);
	if (err || !valid(knob, val))
		return -EINVAL;

	if (knob == TS_DELACK_MAX_MS) {	/* reported back as applied: whole jiffies */
		unsigned int j = val ? msecs_to_jiffies(val) : 0;

		val = jiffies_to_msecs(j);
		WRITE_ONCE(tn->delack_max_jiffies, j);
	}
	mutex_lock(&tn->lock);
	old = READ_ONCE(*field);
	if (m && !m->changed) {
		m->orig = old;
		m->changed = true;
	}
	WRITE_ONCE(*field, val * scale);
	if (m)
		m->set = val * scale;
	journal_int(tn, knob, old / scale, val);
	mutex_unlock(&tn->lock);
	*ppos += *lenp;
	return 0;
}

static int ports_handler(ts_ctl_table *table, int write, void *buffer, size_t *lenp,
			 loff_t *ppos)
{
	struct tcpscope_net *tn = table->data;
	struct net *net = table->extra1;
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
	if (!ns_capable(net->user_ns, CAP_NET_ADMIN))
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

static const struct ctl_table knob_template[] = {
	{ .procname = "ack_ports", .maxlen = TS_VALUE_LEN, .mode = 0644,
	  .proc_handler = ports_handler, .extra2 = (void *)TS_ACK_PORTS },
	{ .procname = "delack_max_ms", .maxlen = sizeof(int), .mode = 0644,
	  .proc_handler = knob_handler, .extra2 = (void *)TS_DELACK_MAX_MS },
	{ .procname = "fastopen", .maxlen = sizeof(int), .mode = 0644,
	  .proc_handler = knob_handler, .extra2 = (void *)TS_FASTOPEN },
	{ .procname = "fin_timeout", .maxlen = sizeof(int), .mode = 0644,
	  .proc_handler = knob_handler, .extra2 = (void *)TS_FIN_TIMEOUT },
	{ .procname = "quickack", .maxlen = sizeof(int), .mode = 0644,
	  .proc_handler = knob_handler, .extra2 = (void *)TS_QUICKACK },
	{ .procname = "restore_on_unload", .maxlen = sizeof(int), .mode = 0644,
	  .proc_handler = knob_handler, .extra2 = (void *)TS_RESTORE_ON_UNLOAD },
};

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

		seq_printf(seq, "%ptT %s %s %s %d %s\n", &e->time, ts_knob_name(e->knob),
			   e->old, e->new, e->pid, e->comm);
	}
	mutex_unlock(&tn->lock);
	return 0;
}

int ts_knobs_init(struct net *net, struct tcpscope_net *tn)
{
	size_t i, n = ARRAY_SIZE(knob_template);

	tn->journal = kvcalloc(TS_JOURNAL_LEN, sizeof(*tn->journal), GFP_KERNEL);
	if (!tn->journal)
		return -ENOMEM;
	/* per-netns copy: .data must point at per-net memory (ensure_safe_net_sysctl) */
	tn->table = kcalloc(n + TS_SYSCTL_SENTINEL, sizeof(*tn->table), GFP_KERNEL);
	if (!tn->table)
		goto fail;
	memcpy(tn->table, knob_template, sizeof(knob_template));
	for (i = 0; i < n; i++) {
		tn->table[i].data = tn;
		tn->table[i].extra1 = net;
	}
	tn->sysctl_hdr = ts_register_sysctl(net, "net/tcpscope", tn->table, n);
	if (!tn->sysctl_hdr)
		goto fail;
	if (!proc_create_net_single("journal", 0444, tn->proc_dir, journal_show, NULL)) {
		unregister_net_sysctl_table(tn->sysctl_hdr);
		goto fail;
	}
	return 0;
fail:
	kfree(tn->table);
	kvfree(tn->journal);
	return -ENOMEM;
}

/* Give back a mirrored value unless told not to or someone else changed it since. */
static void restore(struct net *net, struct tcpscope_net *tn, enum ts_knob knob)
{
	struct ts_mirror *m;
	int scale, *field = mirrored(net, tn, knob, &m, &scale);

	if (!m->changed)
		return;
	if (!tn->restore_on_unload) {
		pr_info("%s: %s left at %d (restore_on_unload=0)\n", net == &init_net ? "init_net" :
			"netns", ts_knob_name(knob), READ_ONCE(*field) / scale);
		return;
	}
	if (READ_ONCE(*field) != m->set) {
		pr_info("%s changed by someone else since tcpscope set it; left as is\n",
			ts_knob_name(knob));
		return;
	}
	WRITE_ONCE(*field, m->orig);
}

void ts_knobs_exit(struct net *net, struct tcpscope_net *tn)
{
	remove_proc_entry("journal", tn->proc_dir);
	unregister_net_sysctl_table(tn->sysctl_hdr);	/* waits for running handlers */
	kfree(tn->table);
	kvfree(tn->journal);
	kfree(rcu_dereference_protected(tn->ack_ports, true));	/* no probe left: pre_exit */
	if (!check_net(net))
		return;	/* the netns is going away: nothing to give back to */
	restore(net, tn, TS_FIN_TIMEOUT);
	restore(net, tn, TS_FASTOPEN);
}
