// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `tcpscope lab`'s packet tap: tc (clsact) programs on the client end of the lab's veth pair
 * copy the headers of every IPv4 TCP segment, stamped on the tracer's clock, to a ring buffer,
 * and apply the experiment's scripted drops. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "lab_tap.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_P_IP 0x0800
#define ETH_HLEN 14

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} pkts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct tcpscope_lab_drop);
} drops SEC(".maps");

/* records the ring buffer had no room for: the lab fails the run when this is not 0 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

static __always_inline int tap(struct __sk_buff *skb, __u8 dir)
{
	struct tcpscope_lab_drop *rule;
	struct tcpscope_lab_pkt *p;
	__u8 ipvhl, proto, tcpflags, drop;
	__u32 len;
	__u32 key = dir, zero = 0;
	__u64 *nlost;
	__u16 ihl;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ipvhl, 1) ||
	    bpf_skb_load_bytes(skb, ETH_HLEN + 9, &proto, 1) || proto != IPPROTO_TCP)
		return TC_ACT_OK;
	ihl = (ipvhl & 0xf) * 4;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + ihl + 13, &tcpflags, 1))
		return TC_ACT_OK;

	p = bpf_ringbuf_reserve(&pkts, sizeof(*p), 0);
	if (!p) {
		nlost = bpf_map_lookup_elem(&lost, &zero);
		if (nlost)
			__sync_fetch_and_add(nlost, 1);
		return TC_ACT_OK;
	}
	p->ts_ns = bpf_ktime_get_ns();
	p->wire_len = skb->len;
	p->gso_segs = skb->gso_segs;
	p->dir = dir;
	p->dropped = 0;
	__builtin_memset(p->pad, 0, sizeof(p->pad));
	/* the whole frame up to the snap length, as 1 + (0..SNAP-1) bytes: the verifiers
	 * before 6.2 do not learn a lower bound of 1 from a test against 0 */
	len = skb->len;
	if (len > TCPSCOPE_LAB_SNAP)
		len = TCPSCOPE_LAB_SNAP;
	if (len) {
		len = (len - 1) & (TCPSCOPE_LAB_SNAP - 1);
		if (bpf_skb_load_bytes(skb, 0, p->data, len + 1))
			len = 0;
		else
			len++;
	}
	p->cap_len = len;

	rule = bpf_map_lookup_elem(&drops, &key);
	if (rule && rule->count && (tcpflags & rule->mask) == rule->value) {
		/* only the lab's one thread drives segments: no two matches race */
		__sync_fetch_and_add(&rule->count, -1);
		p->dropped = 1;
	}
	/* each segment is a step the lab may be waiting on: wake it at once */
	drop = p->dropped;
	bpf_ringbuf_submit(p, BPF_RB_FORCE_WAKEUP);
	return drop ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int handle_egress(struct __sk_buff *skb)
{
	return tap(skb, TCPSCOPE_LAB_DIR_C2S);
}

SEC("tc")
int handle_ingress(struct __sk_buff *skb)
{
	return tap(skb, TCPSCOPE_LAB_DIR_S2C);
}
