/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared between lab_tap.bpf.c and `tcpscope lab` (userspace/lab/tap.cpp): the record of one
 * IPv4 TCP segment seen on the lab's client-side veth, and the scripted drop rule. */
#ifndef __TCPSCOPE_LAB_TAP_H
#define __TCPSCOPE_LAB_TAP_H

/* Frame bytes kept per segment: Ethernet (14) + IPv4 (20..60) + TCP (20..60) and the start
 * of the payload. */
#define TCPSCOPE_LAB_SNAP 128 /* a power of two: lab_tap.bpf.c masks with it */

#define TCPSCOPE_LAB_DIR_C2S 0 /* leaving the client (c0 egress) */
#define TCPSCOPE_LAB_DIR_S2C 1 /* arriving at the client (c0 ingress) */

struct tcpscope_lab_pkt {
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC, the tracer's clock */
	__u32 wire_len; /* skb->len: the whole frame (a GSO skb counts its segments once) */
	__u16 cap_len; /* bytes of data[] filled */
	__u16 gso_segs; /* skb_shinfo(skb)->gso_segs: wire segments in this skb, 0 or 1: one */
	__u8 dir; /* TCPSCOPE_LAB_DIR_* */
	__u8 dropped; /* a drop rule took it: it never reached the other side */
	__u8 pad[6];
	__u8 data[TCPSCOPE_LAB_SNAP];
};

/* Drop the next `count` segments in direction `dir` whose TCP flags byte & mask == value
 * ("drops" map, one rule per direction). */
struct tcpscope_lab_drop {
	__u32 count;
	__u8 mask;
	__u8 value;
	__u8 pad[2];
};

#endif /* __TCPSCOPE_LAB_TAP_H */
