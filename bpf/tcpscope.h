/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared between the BPF programs (tcpscope.bpf.c), the agent and its tests: the one
 * definition of the event record, the connection facts and the classification rules. */
#ifndef __TCPSCOPE_H
#define __TCPSCOPE_H

#define TCPSCOPE_COMM_LEN 16
#define TCPSCOPE_PATH_MAX 16 /* states kept per connection, 4 bits each in a __u64 */

/* Namespaces the netns_allow filter can hold at once (`tcpscope lab`: two per run). */
#define TCPSCOPE_NETNS_ALLOW_MAX 8

/* Kinds of records on the ring buffer. */
enum tcpscope_event_type {
	TCPSCOPE_EV_STATE = 1, /* sock:inet_sock_set_state fired */
	/* full socket handed to a timewait socket (tw_substate in new_state) */
	TCPSCOPE_EV_TW_ENTER = 2,
	/* timewait socket went FIN_WAIT2 -> TIME_WAIT on the peer's FIN */
	TCPSCOPE_EV_TW_SUBSTATE = 3,
	TCPSCOPE_EV_TW_LEAVE = 4, /* timewait socket unhashed (cause says why) */
	TCPSCOPE_EV_KEEPALIVE = 5, /* keepalive probe sent (probe = its number) */
	TCPSCOPE_EV_CONN = 6, /* connection summary at its true end */
	/* a socket that existed when the start-up walk met it (watch --snapshot) */
	TCPSCOPE_EV_SNAPSHOT = 7,
};

/* Why a timewait socket left (TCPSCOPE_EV_TW_LEAVE). */
enum tcpscope_tw_cause {
	TCPSCOPE_TW_CAUSE_UNKNOWN = 0,
	/* timer expiry: 60 s TIME_WAIT or the orphaned FIN_WAIT2 timeout */
	TCPSCOPE_TW_CAUSE_TIMER = 1,
	/* early kill: incoming RST, port reuse (SYN or connect()), abort */
	TCPSCOPE_TW_CAUSE_KILL = 2,
	TCPSCOPE_TW_CAUSE_NETNS = 3, /* its network namespace was torn down */
};

/* How the connection opened (TCPSCOPE_EV_CONN). */
enum tcpscope_open {
	/* first seen after it opened (existed before tcpscope started) */
	TCPSCOPE_OPEN_UNKNOWN = 0,
	TCPSCOPE_OPEN_ACTIVE = 1, /* connect(): CLOSE -> SYN_SENT */
	TCPSCOPE_OPEN_PASSIVE = 2, /* child of a listener: LISTEN -> SYN_RECV */
};

enum tcpscope_handshake {
	TCPSCOPE_HS_UNKNOWN = 0,
	TCPSCOPE_HS_3WHS = 1, /* plain three-way handshake (incl. a Fast Open cookie request) */
	TCPSCOPE_HS_FASTOPEN = 2, /* data carried in the SYN and accepted */
	/* data sent in the SYN but not acknowledged by the SYN-ACK */
	TCPSCOPE_HS_FASTOPEN_REJECTED = 3,
	TCPSCOPE_HS_NONE = 4, /* never established */
};

enum tcpscope_close {
	TCPSCOPE_CLOSE_UNKNOWN = 0,
	/* we sent the first FIN; the peer's ACK and FIN came separately */
	TCPSCOPE_CLOSE_ACTIVE_4WAY = 1,
	/* we sent the first FIN; the peer's FIN arrived with its ACK */
	TCPSCOPE_CLOSE_ACTIVE_3WAY = 2,
	TCPSCOPE_CLOSE_PASSIVE = 3, /* the peer sent the first FIN */
	TCPSCOPE_CLOSE_SIMULTANEOUS = 4, /* both FINs crossed (FIN_WAIT1 -> CLOSING) */
	TCPSCOPE_CLOSE_RST_SENT = 5, /* we reset it (e.g. close() with unread data) */
	TCPSCOPE_CLOSE_RST_RECEIVED = 6, /* the peer reset it (incl. connection refused) */
	TCPSCOPE_CLOSE_KEEPALIVE = 7, /* keepalive probes went unanswered: ETIMEDOUT */
	/* the application aborted it: SO_LINGER 0, tcp_abort, AF_UNSPEC connect */
	TCPSCOPE_CLOSE_ABORT = 8,
	TCPSCOPE_CLOSE_TIMEOUT = 9, /* retransmissions timed out: ETIMEDOUT without keepalive */
};

/* Facts gathered in the kernel for one connection (conn.facts, event.facts). */
#define TCPSCOPE_F_SEEN_OPEN (1u << 0) /* saw CLOSE->SYN_SENT or LISTEN->SYN_RECV */
#define TCPSCOPE_F_ESTABLISHED (1u << 1) /* reached ESTABLISHED */
#define TCPSCOPE_F_FIN_WAIT1 (1u << 2) /* we sent the first FIN (ESTABLISHED/SYN_RECV->FIN_WAIT1) */
#define TCPSCOPE_F_CLOSE_WAIT (1u << 3) /* the peer's FIN came first */
#define TCPSCOPE_F_CLOSING (1u << 4) /* FIN_WAIT1 -> CLOSING: simultaneous close */
/* the segment that acked our FIN also carried the peer's FIN */
#define TCPSCOPE_F_FIN_WITH_ACK (1u << 5)
#define TCPSCOPE_F_RST_SENT (1u << 6) /* tcp:tcp_send_reset on this socket */
#define TCPSCOPE_F_RST_RCVD (1u << 7) /* tcp:tcp_receive_reset on this socket */
#define TCPSCOPE_F_ABORT \
	(1u << 8) /* SO_LINGER {1,0} close()/disconnect, or tcp_abort() (ECONNABORTED) */
#define TCPSCOPE_F_ETIMEDOUT (1u << 9) /* closed with sk_err == ETIMEDOUT */
#define TCPSCOPE_F_SYN_DATA (1u << 10) /* tp->syn_data: our SYN carried data */
#define TCPSCOPE_F_SYN_DATA_ACKED (1u << 11) /* tp->syn_data_acked: data in the SYN was accepted */
#define TCPSCOPE_F_TIME_WAIT (1u << 12) /* handed to a timewait socket */
#define TCPSCOPE_F_PATH_TRUNC (1u << 13) /* more than TCPSCOPE_PATH_MAX states: path cut */
#define TCPSCOPE_F_LISTENER (1u << 14) /* a listening socket, not a connection */

/* event.flags */
#define TCPSCOPE_EVF_HANDOFF \
	(1u << 0) /* the full socket's internal CLOSE at the timewait handoff */
#define TCPSCOPE_EVF_NO_DUR (1u << 1) /* time in the previous state unknown (seen mid-state) */
#define TCPSCOPE_EVF_NO_OWNER (1u << 2) /* owner unknown (socket predates tcpscope) */
#define TCPSCOPE_EVF_LATE \
	(1u << 3) /* reported after the fact; ts_ns reconstructed from the timer */
/* struct tcpscope_sock_event: the socket's counters are unknown (a listener, a timewait
 * socket, a connection whose move to CLOSE was missed) */
#define TCPSCOPE_EVF_NO_STATS (1u << 4)

/* One record on the ring buffer: every event type uses the same layout. */
struct tcpscope_event {
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 cookie; /* socket cookie: stable across the timewait handoff */
	__u64 dur_ns; /* time spent in the previous state */
	__u64 cgroup; /* owner's cgroup v2 id */
	__u64 lifetime_ns; /* TCPSCOPE_EV_CONN: first seen to end */
	__u64 path; /* TCPSCOPE_EV_CONN: states, 4 bits each, oldest in the low bits */
	__u8 saddr[16]; /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u32 netns; /* netns inode */
	__u32 pid; /* owner's tgid */
	__u32 facts; /* F_* */
	__u16 sport; /* host order */
	__u16 dport;
	__u16 family; /* AF_INET or AF_INET6 */
	__u16 flags; /* EVF_* */
	/* TCPSCOPE_EV_KEEPALIVE: probe number; TCPSCOPE_EV_CONN: keepalive probes sent */
	__u16 probes;
	__u8 type; /* enum tcpscope_event_type */
	__u8 old_state; /* kernel TCP state numbers (TCP_ESTABLISHED...) */
	__u8 new_state;
	__u8 cause; /* TCPSCOPE_EV_TW_LEAVE: enum tcpscope_tw_cause */
	__u8 path_len;
	__u8 open; /* TCPSCOPE_EV_CONN: enum tcpscope_open */
	__u8 handshake; /* TCPSCOPE_EV_CONN: enum tcpscope_handshake */
	__u8 close; /* TCPSCOPE_EV_CONN: enum tcpscope_close */
	char comm[TCPSCOPE_COMM_LEN];
};

/* A TCP socket's own counters (struct tcp_sock), the figures `ss -ti` and getsockopt(TCP_INFO)
 * report under the same names. */
struct tcpscope_sock_stats {
	/* bytes the peer acknowledged: data, plus 1 for our SYN on an active open (acked by
	 * the SYN-ACK) and 1 for our FIN once acked (tcpi_bytes_acked) */
	__u64 bytes_acked;
	__u64 bytes_received; /* bytes received in order: data, plus 1 for the peer's FIN */
	__u32 segs_out; /* segments sent: SYN, data, retransmissions, pure ACKs, FIN, RST */
	__u32 segs_in; /* segments received */
	__u32 total_retrans; /* segments retransmitted */
	__u32 srtt_us; /* smoothed RTT in microseconds (tp->srtt_us >> 3, tcpi_rtt) */
};

/* TCPSCOPE_EV_CONN and TCPSCOPE_EV_SNAPSHOT records: the event, then what the socket itself
 * says. Every other record is a struct tcpscope_event alone, so the ring stays compact. */
struct tcpscope_sock_event {
	struct tcpscope_event ev;
	struct tcpscope_sock_stats stats; /* unless ev.flags has TCPSCOPE_EVF_NO_STATS */
	/* TCPSCOPE_EV_SNAPSHOT: the socket's inode, what /proc/PID/fd links name "socket:[ino]"
	 * (0: no file: not accepted yet, or orphaned by close()) */
	__u64 ino;
};

/* In-kernel aggregation ("aggs" map, per netns inode, per CPU): what `tcpscope stats` and
 * `serve` read without a copy of each event. States are the kernel's TCP state numbers;
 * TIME_WAIT appears as the timewait socket's substate, as in the event stream. */
#define TCPSCOPE_NSTATES 16 /* > TCP_MAX_STATES */
#define TCPSCOPE_HIST_SLOTS 32 /* log2 microseconds: slot 0 < 1 us, slot i < 2^i us */
#define TCPSCOPE_NOPEN 3 /* enum tcpscope_open */
#define TCPSCOPE_NCLOSE 10 /* enum tcpscope_close */
#define TCPSCOPE_NCAUSE 4 /* enum tcpscope_tw_cause */

struct tcpscope_agg {
	/* lifecycle transitions as `watch` shows them: the timewait handoff counts once,
	 * FIN_WAIT2/CLOSING -> TIME_WAIT (or -> FIN_WAIT2 for an orphan), then -> CLOSE */
	__u64 transitions[TCPSCOPE_NSTATES][TCPSCOPE_NSTATES];
	__u64 time_hist[TCPSCOPE_NSTATES][TCPSCOPE_HIST_SLOTS]; /* time spent in a state */
	__u64 time_sum_ns[TCPSCOPE_NSTATES];
	__s64 sockets[TCPSCOPE_NSTATES]; /* current sockets: +1 entering, -1 leaving, seeded */
	__u64 tw_entered;
	__u64 tw_left[TCPSCOPE_NCAUSE]; /* by enum tcpscope_tw_cause */
	__u64 keepalive_probes;
	__u64 conns[TCPSCOPE_NOPEN][TCPSCOPE_NCLOSE]; /* ended connections by open and close kind */
	/* sockets of this netns the gauges could not follow (a table full, see
	 * TCPSCOPE_CNT_CONN_UNTRACKED and _TW_FULL): sockets[] is short by up to this many */
	__u64 untracked;
	/* timewait sockets counted in sockets[FIN_WAIT2] (orphans): where the agent looks for a
	 * late FIN_WAIT2 -> TIME_WAIT no hook saw (the recount_sockets iterator) */
	__s64 tw_orphans;
	__u64 tw_recounted; /* late FIN_WAIT2 -> TIME_WAIT found by that recount */
};

/* Per listening port ("ports_agg" map, per-CPU LRU: busy ports stay), for the busiest ports in
 * `top`: TIME_WAIT sockets of connections accepted on the port, and the connections accepted. */
struct tcpscope_port_key {
	__u32 netns;
	__u16 port;
	__u16 pad;
};

struct tcpscope_port_agg {
	__s64 timewait; /* timewait sockets on this local port now */
	__u64 accepted; /* passive opens: connections a listener on this port took */
};

/* The kernel side's own health: counters in the per-CPU "counters" array. */
enum tcpscope_counter {
	TCPSCOPE_CNT_EVENTS = 0, /* records submitted */
	TCPSCOPE_CNT_LOST = 1, /* ring buffer reservation failed: record dropped */
	TCPSCOPE_CNT_CONN_FULL = 2, /* connection table full: connection not tracked */
	TCPSCOPE_CNT_FILTERED = 3, /* events dropped by in-kernel filters */
	/* no aggregates for the netns (table full, no memory): not counted */
	TCPSCOPE_CNT_AGG_FULL = 4,
	TCPSCOPE_CNT_SEEDED = 5, /* sockets counted by the start-up socket walk */
	/* Every loss by reason (Documentation/tcpscope/kernel.rst, "What is counted as lost"):
	 * a connection met with the conns table full, counted once (CONN_FULL counts its events;
	 * it stays untracked for life: no record, no summary, not in the gauges) */
	TCPSCOPE_CNT_CONN_UNTRACKED = 6,
	TCPSCOPE_CNT_TW_FULL = 7, /* twctxs full: a timewait socket not in the gauges */
	TCPSCOPE_CNT_LISTENER_FULL = 8, /* listeners full: a listener's owner unknown */
	TCPSCOPE_CNT_EMBRYO_FULL = 9, /* embryos full: an early child's LISTEN->SYN_RECV lost */
	TCPSCOPE_CNT_PORTS_FULL = 10, /* ports_agg full: a port's TIME_WAIT and accepts lost */
	/* a timewait socket's exit was missed (e.g. a skipped program run); its gauge was put
	 * right when its memory was reused by a new timewait socket or by a recount walk */
	TCPSCOPE_CNT_TW_STALE = 11,
	TCPSCOPE_CNT_LOST_SUMMARY = 12, /* of LOST: connection summaries (TCPSCOPE_EV_CONN) */
	/* gauges put right from the kernel's own state after a missed transition: at the
	 * socket's destruction or by the recount_sockets walk */
	TCPSCOPE_CNT_RECOUNTED = 13,
	TCPSCOPE_CNT_MAX,
};

/* Classification is a pure function of the facts, so the kernel, the agent and the unit tests
 * share it. A deliberate priority: what ended the connection first, then how the FINs went. */
static inline __u8 tcpscope_classify_close(__u32 facts, __u16 probes)
{
	if ((facts & TCPSCOPE_F_ETIMEDOUT) && probes)
		return TCPSCOPE_CLOSE_KEEPALIVE;
	if (facts & TCPSCOPE_F_ABORT)
		return TCPSCOPE_CLOSE_ABORT;
	if (facts & TCPSCOPE_F_RST_RCVD)
		return TCPSCOPE_CLOSE_RST_RECEIVED;
	if (facts & TCPSCOPE_F_RST_SENT)
		return TCPSCOPE_CLOSE_RST_SENT;
	if (facts & TCPSCOPE_F_ETIMEDOUT)
		return TCPSCOPE_CLOSE_TIMEOUT;
	if (facts & TCPSCOPE_F_CLOSING)
		return TCPSCOPE_CLOSE_SIMULTANEOUS;
	if (facts & TCPSCOPE_F_FIN_WAIT1)
		return (facts & TCPSCOPE_F_FIN_WITH_ACK) ? TCPSCOPE_CLOSE_ACTIVE_3WAY :
							   TCPSCOPE_CLOSE_ACTIVE_4WAY;
	if (facts & TCPSCOPE_F_CLOSE_WAIT)
		return TCPSCOPE_CLOSE_PASSIVE;
	return TCPSCOPE_CLOSE_UNKNOWN;
}

static inline __u8 tcpscope_classify_handshake(__u32 facts)
{
	if (!(facts & TCPSCOPE_F_SEEN_OPEN))
		return TCPSCOPE_HS_UNKNOWN;
	if (!(facts & TCPSCOPE_F_ESTABLISHED))
		return TCPSCOPE_HS_NONE;
	if (facts & TCPSCOPE_F_SYN_DATA_ACKED)
		return TCPSCOPE_HS_FASTOPEN;
	if (facts & TCPSCOPE_F_SYN_DATA)
		return TCPSCOPE_HS_FASTOPEN_REJECTED;
	return TCPSCOPE_HS_3WHS;
}

#endif /* __TCPSCOPE_H */
