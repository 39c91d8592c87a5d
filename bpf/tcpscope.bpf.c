// SPDX-License-Identifier: GPL-2.0
/* tcpscope's kernel side: every TCP state change from sock:inet_sock_set_state, plus the
 * TIME_WAIT handoff/exit and keepalive probes the tracepoint never shows, folded into one
 * per-connection record (keyed by socket cookie) and streamed over a ring buffer.
 * One compilation unit, split by concern into the headers of bpf/tcpscope/, included
 * below in order (each uses only the ones before it); the timer programs, which serve
 * both timewait.h and keepalive.h, are here. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "tcpscope.h"

/* #defines, so not in vmlinux.h */
#define AF_INET 2
#define AF_INET6 10
#define ETIMEDOUT 110
#define ECONNABORTED 103
#define EEXIST 17
#define E2BIG 7
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04

#include "tcpscope/maps.h"
#include "tcpscope/core.h"
#include "tcpscope/aggregates.h"
#include "tcpscope/filters.h"
#include "tcpscope/emit.h"
#include "tcpscope/lifecycle.h"
#include "tcpscope/timewait.h"
#include "tcpscope/keepalive.h"

SEC("tp_btf/timer_start")
int BPF_PROG(handle_timer_start, struct timer_list *t)
{
	__u64 fn = timer_fn(t);

	if (hooks_only)
		return 0;
	tw_settle(tw_pending(), t, false);
	if (!fn)
		return 0;
	if (fn == tw_timer_fn)
		return on_tw_armed(tw_of(t));
	if (fn == keepalive_timer_fn)
		return on_keepalive_rearm(t);
	return 0;
}

SEC("tp_btf/timer_cancel")
int BPF_PROG(handle_timer_cancel, struct timer_list *t)
{
	struct twcancel *p = tw_pending();
	__u64 fn = timer_fn(t);

	if (hooks_only)
		return 0;
	tw_settle(p, t, fn == tw_timer_fn);
	if (!fn || fn != tw_timer_fn || !p)
		return 0;
	tw_snap(tw_of(t), TCPSCOPE_TW_CAUSE_KILL, bpf_ktime_get_ns(), &p->snap);
	p->timer = (__u64)t;
	return 0;
}

SEC("tp_btf/timer_expire_entry")
int BPF_PROG(handle_timer_expire, struct timer_list *t)
{
	struct twcancel *p = tw_pending();
	__u64 fn = timer_fn(t);

	if (hooks_only)
		return 0;
	tw_settle(p, t, fn == tw_timer_fn); /* tw_snap() below takes the slot */
	if (!fn)
		return 0;
	if (fn == tw_timer_fn && p) {
		tw_snap(tw_of(t), TCPSCOPE_TW_CAUSE_TIMER, bpf_ktime_get_ns(), &p->snap);
		return on_tw_leave(&p->snap);
	}
	if (fn == keepalive_timer_fn)
		return on_keepalive_expire(t);
	return 0;
}

SEC("tp_btf/timer_expire_exit")
int BPF_PROG(handle_timer_expire_exit, struct timer_list *t)
{
	struct kactx *k;
	__u32 idx = 0;

	if (hooks_only)
		return 0;
	tw_settle(tw_pending(), t, false);
	k = bpf_map_lookup_elem(&kactxs, &idx);
	if (k && k->timer == (__u64)t)
		k->timer = 0;
	return 0;
}

#include "tcpscope/walks.h"

char LICENSE[] SEC("license") = "GPL";
