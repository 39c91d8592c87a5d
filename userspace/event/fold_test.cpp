// SPDX-License-Identifier: GPL-2.0
// Tests fold() (lifecycle vs raw view of each event type), decode() and the enum names.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "event/fold.h"
#include "event/test_events.h"

namespace tcpscope {
namespace {

using test::ipv4_event;

// fold() must show the event with this name and these states, pointing at the record.
void expect_shown(const RawEvent &e, View view, std::string_view event, unsigned old_state,
		  unsigned new_state)
{
	auto s = fold(e, view);
	ASSERT_TRUE(s.has_value()) << "type " << unsigned(e.type) << " folded away";
	EXPECT_EQ(s->raw, &e);
	EXPECT_EQ(s->name, event);
	EXPECT_EQ(s->old_state, old_state);
	EXPECT_EQ(s->new_state, new_state);
}

TEST(Fold, State)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);

	expect_shown(e, View::lifecycle, "state", TCP_SYN_SENT, TCP_ESTABLISHED);
	expect_shown(e, View::raw, "state", TCP_SYN_SENT, TCP_ESTABLISHED);
}

TEST(Fold, StateHandoffFoldedInLifecycleOnly)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);
	e.old_state = TCP_FIN_WAIT2;
	e.new_state = TCP_CLOSE;
	e.flags = TCPSCOPE_EVF_HANDOFF;

	EXPECT_FALSE(fold(e, View::lifecycle).has_value());
	expect_shown(e, View::raw, "state", TCP_FIN_WAIT2, TCP_CLOSE);

	// other flags do not fold it
	e.flags = TCPSCOPE_EVF_NO_DUR | TCPSCOPE_EVF_NO_OWNER;
	expect_shown(e, View::lifecycle, "state", TCP_FIN_WAIT2, TCP_CLOSE);
	e.flags = TCPSCOPE_EVF_HANDOFF | TCPSCOPE_EVF_NO_DUR | TCPSCOPE_EVF_NO_OWNER;
	EXPECT_FALSE(fold(e, View::lifecycle).has_value());
	expect_shown(e, View::raw, "state", TCP_FIN_WAIT2, TCP_CLOSE);
}

TEST(Fold, TwEnterChangingState)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_TW_ENTER);
	e.old_state = TCP_FIN_WAIT2;
	e.new_state = TCP_TIME_WAIT;

	expect_shown(e, View::lifecycle, "state", TCP_FIN_WAIT2, TCP_TIME_WAIT);
	expect_shown(e, View::raw, "tw_enter", TCP_FIN_WAIT2, TCP_TIME_WAIT);

	e.old_state = TCP_CLOSING;
	expect_shown(e, View::lifecycle, "state", TCP_CLOSING, TCP_TIME_WAIT);
	expect_shown(e, View::raw, "tw_enter", TCP_CLOSING, TCP_TIME_WAIT);
}

TEST(Fold, TwEnterSameStateFoldedInLifecycleOnly)
{
	// an orphaned FIN_WAIT2 becomes a FIN_WAIT2 timewait socket: no visible change
	RawEvent e = ipv4_event(TCPSCOPE_EV_TW_ENTER);
	e.old_state = TCP_FIN_WAIT2;
	e.new_state = TCP_FIN_WAIT2;

	EXPECT_FALSE(fold(e, View::lifecycle).has_value());
	expect_shown(e, View::raw, "tw_enter", TCP_FIN_WAIT2, TCP_FIN_WAIT2);
}

TEST(Fold, TwSubstate)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_TW_SUBSTATE);
	e.old_state = TCP_FIN_WAIT2;
	e.new_state = TCP_TIME_WAIT;

	expect_shown(e, View::lifecycle, "state", TCP_FIN_WAIT2, TCP_TIME_WAIT);
	expect_shown(e, View::raw, "tw_substate", TCP_FIN_WAIT2, TCP_TIME_WAIT);
}

TEST(Fold, TwLeave)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_TW_LEAVE);
	e.old_state = TCP_TIME_WAIT;
	e.new_state = TCP_CLOSE;
	e.cause = TCPSCOPE_TW_CAUSE_TIMER;

	expect_shown(e, View::lifecycle, "state", TCP_TIME_WAIT, TCP_CLOSE);
	expect_shown(e, View::raw, "tw_leave", TCP_TIME_WAIT, TCP_CLOSE);
}

TEST(Fold, Keepalive)
{
	RawEvent e = ipv4_event(TCPSCOPE_EV_KEEPALIVE);
	e.old_state = TCP_ESTABLISHED;
	e.new_state = TCP_ESTABLISHED;
	e.probes = 3;

	expect_shown(e, View::lifecycle, "keepalive", TCP_ESTABLISHED, TCP_ESTABLISHED);
	expect_shown(e, View::raw, "keepalive", TCP_ESTABLISHED, TCP_ESTABLISHED);
}

TEST(Fold, Conn)
{
	RawEvent e = test::conn_event().ev; // fold() reads no further than the event

	expect_shown(e, View::lifecycle, "conn", 0, 0);
	expect_shown(e, View::raw, "conn", 0, 0);
	// no flag folds a summary away
	e.flags = TCPSCOPE_EVF_HANDOFF | TCPSCOPE_EVF_NO_DUR | TCPSCOPE_EVF_NO_OWNER;
	expect_shown(e, View::lifecycle, "conn", 0, 0);
}

TEST(Fold, Snapshot)
{
	RawEvent e = test::snapshot_event().ev;

	expect_shown(e, View::lifecycle, "snapshot", TCP_ESTABLISHED, TCP_ESTABLISHED);
	expect_shown(e, View::raw, "snapshot", TCP_ESTABLISHED, TCP_ESTABLISHED);
}

TEST(Fold, UnknownTypeDropped)
{
	for (unsigned type : {0u, 8u, 0xffu}) {
		RawEvent e = ipv4_event(static_cast<uint8_t>(type));
		EXPECT_FALSE(fold(e, View::lifecycle).has_value()) << type;
		EXPECT_FALSE(fold(e, View::raw).has_value()) << type;
	}
}

TEST(Decode, Sizes)
{
	std::vector<unsigned char> buf(2 * sizeof(RawEvent));
	RawEvent e = ipv4_event(TCPSCOPE_EV_STATE);
	std::memcpy(buf.data(), &e, sizeof(e));

	EXPECT_EQ(sizeof(RawEvent), 128u);
	EXPECT_EQ(decode(buf.data(), 0), nullptr);
	EXPECT_EQ(decode(buf.data(), 1), nullptr);
	EXPECT_EQ(decode(buf.data(), 64), nullptr);
	EXPECT_EQ(decode(buf.data(), sizeof(RawEvent) - 1), nullptr);

	const RawEvent *d = decode(buf.data(), sizeof(RawEvent));
	ASSERT_NE(d, nullptr);
	EXPECT_EQ(static_cast<const void *>(d), static_cast<const void *>(buf.data()));
	EXPECT_EQ(d->cookie, 42u);
	EXPECT_EQ(d->type, TCPSCOPE_EV_STATE);
	EXPECT_EQ(d->sport, 5000);
	EXPECT_STREQ(d->comm, "curl");
	EXPECT_EQ(sock_event(*d), nullptr);
}

// Summaries and snapshot records are a SockEvent: shorter is not a record of theirs.
TEST(Decode, SockEventSizes)
{
	for (const SockEvent &r : {test::conn_event(), test::snapshot_event()}) {
		std::vector<unsigned char> buf(sizeof(SockEvent) + 8);
		std::memcpy(buf.data(), &r, sizeof(r));

		EXPECT_EQ(decode(buf.data(), sizeof(RawEvent)), nullptr);
		EXPECT_EQ(decode(buf.data(), sizeof(SockEvent) - 1), nullptr);
		const RawEvent *d = decode(buf.data(), sizeof(SockEvent));
		ASSERT_NE(d, nullptr);
		const SockEvent *x = sock_event(*d);
		ASSERT_NE(x, nullptr);
		EXPECT_EQ(static_cast<const void *>(x), static_cast<const void *>(buf.data()));
		EXPECT_EQ(x->stats.bytes_acked, 1001u);
		EXPECT_EQ(x->stats.srtt_us, 42u);
		EXPECT_EQ(x->ino, r.ino);
		EXPECT_NE(decode(buf.data(), buf.size()), nullptr); // a longer sample is fine
	}
}

TEST(Layout, Offsets)
{
	// the BPF side writes these: any change must show up here
	EXPECT_EQ(offsetof(RawEvent, ts_ns), 0u);
	EXPECT_EQ(offsetof(RawEvent, path), 40u);
	EXPECT_EQ(offsetof(RawEvent, saddr), 48u);
	EXPECT_EQ(offsetof(RawEvent, daddr), 64u);
	EXPECT_EQ(offsetof(RawEvent, netns), 80u);
	EXPECT_EQ(offsetof(RawEvent, sport), 92u);
	EXPECT_EQ(offsetof(RawEvent, type), 102u);
	EXPECT_EQ(offsetof(RawEvent, comm), 110u);
	EXPECT_EQ(offsetof(SockEvent, stats), 128u);
	EXPECT_EQ(offsetof(SockEvent, stats.bytes_received), 136u);
	EXPECT_EQ(offsetof(SockEvent, stats.segs_out), 144u);
	EXPECT_EQ(offsetof(SockEvent, stats.srtt_us), 156u);
	EXPECT_EQ(offsetof(SockEvent, ino), 160u);
	EXPECT_EQ(sizeof(SockEvent), 168u);
}

TEST(PathState, Unpacks)
{
	RawEvent e = test::conn_event().ev;

	EXPECT_EQ(path_state(e, 0), unsigned(TCP_SYN_SENT));
	EXPECT_EQ(path_state(e, 1), unsigned(TCP_ESTABLISHED));
	EXPECT_EQ(path_state(e, 2), unsigned(TCP_FIN_WAIT1));
	EXPECT_EQ(path_state(e, 3), unsigned(TCP_FIN_WAIT2));
	EXPECT_EQ(path_state(e, 4), unsigned(TCP_TIME_WAIT));
	EXPECT_EQ(path_state(e, 5), unsigned(TCP_CLOSE));
	EXPECT_EQ(path_state(e, 6), 0u);

	e.path = 0xfedcba9876543210ull;
	for (unsigned i = 0; i < TCPSCOPE_PATH_MAX; i++)
		EXPECT_EQ(path_state(e, i), i);
}

TEST(Names, Cause)
{
	EXPECT_EQ(cause_name(TCPSCOPE_TW_CAUSE_UNKNOWN), "unknown");
	EXPECT_EQ(cause_name(TCPSCOPE_TW_CAUSE_TIMER), "timer");
	EXPECT_EQ(cause_name(TCPSCOPE_TW_CAUSE_KILL), "kill");
	EXPECT_EQ(cause_name(TCPSCOPE_TW_CAUSE_NETNS), "netns");
	EXPECT_EQ(cause_name(TCPSCOPE_TW_CAUSE_NETNS + 1), "unknown");
	EXPECT_EQ(cause_name(255), "unknown");
}

TEST(Names, Open)
{
	EXPECT_EQ(open_name(TCPSCOPE_OPEN_UNKNOWN), "unknown");
	EXPECT_EQ(open_name(TCPSCOPE_OPEN_ACTIVE), "active");
	EXPECT_EQ(open_name(TCPSCOPE_OPEN_PASSIVE), "passive");
	EXPECT_EQ(open_name(3), "unknown");
}

TEST(Names, Handshake)
{
	EXPECT_EQ(handshake_name(TCPSCOPE_HS_UNKNOWN), "unknown");
	EXPECT_EQ(handshake_name(TCPSCOPE_HS_3WHS), "3whs");
	EXPECT_EQ(handshake_name(TCPSCOPE_HS_FASTOPEN), "fastopen");
	EXPECT_EQ(handshake_name(TCPSCOPE_HS_FASTOPEN_REJECTED), "fastopen_rejected");
	EXPECT_EQ(handshake_name(TCPSCOPE_HS_NONE), "none");
	EXPECT_EQ(handshake_name(5), "unknown");
}

TEST(Names, Close)
{
	EXPECT_EQ(close_name(TCPSCOPE_CLOSE_UNKNOWN), "unknown");
	EXPECT_EQ(close_name(TCPSCOPE_CLOSE_ACTIVE_4WAY), "active_4way");
	EXPECT_EQ(close_name(TCPSCOPE_CLOSE_ACTIVE_3WAY), "active_3way");
	EXPECT_EQ(close_name(TCPSCOPE_CLOSE_PASSIVE), "passive");
	EXPECT_EQ(close_name(TCPSCOPE_CLOSE_SIMULTANEOUS), "simultaneous");
	EXPECT_EQ(close_name(TCPSCOPE_CLOSE_RST_SENT), "rst_sent");
	EXPECT_EQ(close_name(TCPSCOPE_CLOSE_RST_RECEIVED), "rst_received");
	EXPECT_EQ(close_name(TCPSCOPE_CLOSE_KEEPALIVE), "keepalive_timeout");
	EXPECT_EQ(close_name(TCPSCOPE_CLOSE_ABORT), "abort");
	EXPECT_EQ(close_name(TCPSCOPE_CLOSE_TIMEOUT), "timeout");
	EXPECT_EQ(close_name(10), "unknown");
}

} // namespace
} // namespace tcpscope
