/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tcpscope.ko across kernel versions. The sysctl API changed between Debian's 6.1 and 6.12:
 * 6.6 added register_net_sysctl_sz() (table size instead of a {} sentinel), 6.11 rejects
 * sentinels and passes handlers a const struct ctl_table. Kbuild greps the kernel's headers
 * and defines TS_HAVE_SYSCTL_SZ / TS_HAVE_CONST_CTL_TABLE.
 */
#ifndef TCPSCOPE_COMPAT_H
#define TCPSCOPE_COMPAT_H

#include <linux/sysctl.h>
#include <net/net_namespace.h>

#ifdef TS_HAVE_CONST_CTL_TABLE
#define ts_ctl_table const struct ctl_table
#else
#define ts_ctl_table struct ctl_table
#endif

/* entries a table needs beyond its knobs: the {} sentinel before register_net_sysctl_sz */
#ifdef TS_HAVE_SYSCTL_SZ
#define TS_SYSCTL_SENTINEL 0
static inline struct ctl_table_header *ts_register_sysctl(struct net *net, const char *path,
							   struct ctl_table *table, size_t n)
{
	return register_net_sysctl_sz(net, path, table, n);
}
#else
#define TS_SYSCTL_SENTINEL 1
static inline struct ctl_table_header *ts_register_sysctl(struct net *net, const char *path,
							   struct ctl_table *table, size_t n)
{
	return register_net_sysctl(net, path, table);
}
#endif

#endif /* TCPSCOPE_COMPAT_H */
