// SPDX-License-Identifier: GPL-2.0
// Tests EventFilter: the user-space --summary and --state filters of `watch`.
#include <gtest/gtest.h>

#include "event/fold.h"
#include "event/test_events.h"

namespace tcpscope {
namespace {

using test::ipv4_event;

RawEvent state_event(unsigned from, unsigned to, uint8_t type = TCPSCOPE_EV_STATE)
{
	RawEvent e = ipv4_event(type);

	e.old_state = static_cast<uint8_t>(from);
	e.new_state = static_cast<uint8_t>(to);
	return e;
}

bool wants(const EventFilter &o, const RawEvent &e, View view = View::lifecycle)
{
	auto s = fold(e, view);

	if (!s) {
		ADD_FAILURE() << "event folded away";
		return false;
	}
	return o.wants(*s);
}

EventFilter with_state(unsigned state, bool summary = false)
{
	EventFilter o;

	o.state = state;
	o.summary = summary;
	return o;
}

TEST(EventFilter, NoFilterKeepsEverything)
{
	EventFilter o;
	RawEvent ka = state_event(TCP_ESTABLISHED, TCP_ESTABLISHED, TCPSCOPE_EV_KEEPALIVE);

	EXPECT_TRUE(wants(o, state_event(TCP_SYN_SENT, TCP_ESTABLISHED)));
	EXPECT_TRUE(wants(o, state_event(TCP_FIN_WAIT2, TCP_TIME_WAIT, TCPSCOPE_EV_TW_ENTER),
			  View::raw));
	EXPECT_TRUE(wants(o, state_event(TCP_FIN_WAIT2, TCP_TIME_WAIT, TCPSCOPE_EV_TW_SUBSTATE)));
	EXPECT_TRUE(wants(o, state_event(TCP_TIME_WAIT, TCP_CLOSE, TCPSCOPE_EV_TW_LEAVE)));
	EXPECT_TRUE(wants(o, ka));
	EXPECT_TRUE(wants(o, test::conn_event().ev));
}

TEST(EventFilter, SummaryKeepsOnlyConn)
{
	EventFilter o;
	o.summary = true;

	EXPECT_FALSE(wants(o, state_event(TCP_SYN_SENT, TCP_ESTABLISHED)));
	EXPECT_FALSE(wants(o, state_event(TCP_FIN_WAIT1, TCP_TIME_WAIT, TCPSCOPE_EV_TW_ENTER)));
	EXPECT_FALSE(wants(o, state_event(TCP_FIN_WAIT2, TCP_TIME_WAIT, TCPSCOPE_EV_TW_SUBSTATE)));
	EXPECT_FALSE(wants(o, state_event(TCP_TIME_WAIT, TCP_CLOSE, TCPSCOPE_EV_TW_LEAVE)));
	EXPECT_FALSE(
		wants(o, state_event(TCP_ESTABLISHED, TCP_ESTABLISHED, TCPSCOPE_EV_KEEPALIVE)));
	EXPECT_TRUE(wants(o, test::conn_event().ev));
	EXPECT_TRUE(wants(o, test::conn_event(true).ev));
	// --snapshot's records were asked for
	EXPECT_TRUE(wants(o, test::snapshot_event().ev));
}

TEST(EventFilter, SnapshotMatchesItsState)
{
	const RawEvent snap = test::snapshot_event().ev; // ESTABLISHED

	EXPECT_TRUE(wants(with_state(TCP_ESTABLISHED), snap));
	EXPECT_TRUE(wants(with_state(TCP_ESTABLISHED, true), snap));
	EXPECT_FALSE(wants(with_state(TCP_LISTEN), snap));
	EXPECT_FALSE(wants(with_state(TCP_LISTEN, true), snap));
}

TEST(EventFilter, StateMatchesOldOrNew)
{
	const EventFilter tw = with_state(TCP_TIME_WAIT);

	EXPECT_TRUE(wants(tw, state_event(TCP_FIN_WAIT2, TCP_TIME_WAIT, TCPSCOPE_EV_TW_SUBSTATE)));
	EXPECT_TRUE(wants(tw, state_event(TCP_FIN_WAIT1, TCP_TIME_WAIT, TCPSCOPE_EV_TW_ENTER)));
	EXPECT_TRUE(wants(tw, state_event(TCP_TIME_WAIT, TCP_CLOSE, TCPSCOPE_EV_TW_LEAVE)));
	EXPECT_TRUE(
		wants(tw, state_event(TCP_TIME_WAIT, TCP_CLOSE, TCPSCOPE_EV_TW_LEAVE), View::raw));
	EXPECT_FALSE(wants(tw, state_event(TCP_SYN_SENT, TCP_ESTABLISHED)));
	EXPECT_FALSE(wants(tw, state_event(TCP_FIN_WAIT1, TCP_FIN_WAIT2)));
	EXPECT_FALSE(
		wants(tw, state_event(TCP_ESTABLISHED, TCP_ESTABLISHED, TCPSCOPE_EV_KEEPALIVE)));

	const EventFilter est = with_state(TCP_ESTABLISHED);
	EXPECT_TRUE(wants(est, state_event(TCP_SYN_SENT, TCP_ESTABLISHED)));
	EXPECT_TRUE(wants(est, state_event(TCP_ESTABLISHED, TCP_FIN_WAIT1)));
	EXPECT_TRUE(
		wants(est, state_event(TCP_ESTABLISHED, TCP_ESTABLISHED, TCPSCOPE_EV_KEEPALIVE)));
	EXPECT_FALSE(wants(est, state_event(TCP_CLOSE, TCP_SYN_SENT)));
	EXPECT_FALSE(wants(est, state_event(TCP_TIME_WAIT, TCP_CLOSE, TCPSCOPE_EV_TW_LEAVE)));
}

TEST(EventFilter, StateUsesTheFoldedStates)
{
	RawEvent e = state_event(TCP_SYN_SENT, TCP_ESTABLISHED);
	FoldedEvent s{&e, "state", TCP_FIN_WAIT2, TCP_TIME_WAIT};

	EXPECT_TRUE(with_state(TCP_TIME_WAIT).wants(s));
	EXPECT_TRUE(with_state(TCP_FIN_WAIT2).wants(s));
	EXPECT_FALSE(with_state(TCP_ESTABLISHED).wants(s));
	EXPECT_FALSE(with_state(TCP_SYN_SENT).wants(s));
}

TEST(EventFilter, ConnMatchesStateInItsPath)
{
	// path: SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT CLOSE
	const RawEvent conn = test::conn_event().ev;

	for (unsigned st : {TCP_SYN_SENT, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
			    TCP_TIME_WAIT, TCP_CLOSE}) {
		EXPECT_TRUE(wants(with_state(st), conn)) << st;
		EXPECT_TRUE(wants(with_state(st, true), conn)) << st;
	}
	for (unsigned st : {TCP_SYN_RECV, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING}) {
		EXPECT_FALSE(wants(with_state(st), conn)) << st;
		EXPECT_FALSE(wants(with_state(st, true), conn)) << st;
	}
}

TEST(EventFilter, ConnIgnoresOldNewAndStatesPastPathLen)
{
	RawEvent conn = test::conn_event().ev;

	// old/new are not part of a summary
	conn.old_state = TCP_LISTEN;
	conn.new_state = TCP_LISTEN;
	EXPECT_FALSE(wants(with_state(TCP_LISTEN), conn));

	// only the first path_len states count
	conn.path_len = 2; // SYN_SENT ESTABLISHED
	EXPECT_TRUE(wants(with_state(TCP_ESTABLISHED), conn));
	EXPECT_FALSE(wants(with_state(TCP_TIME_WAIT), conn));

	conn.path_len = 0;
	EXPECT_FALSE(wants(with_state(TCP_SYN_SENT), conn));
	EXPECT_TRUE(wants(EventFilter{}, conn));
}

TEST(EventFilter, ConnFullPath)
{
	RawEvent conn = test::conn_event().ev;

	// 16 states, the last one LISTEN (10); a bogus longer path_len stays within 16 nibbles
	conn.path = 0xa111111111111111ull;
	conn.facts |= TCPSCOPE_F_PATH_TRUNC;
	for (uint8_t len : {uint8_t(16), uint8_t(200)}) {
		conn.path_len = len;
		EXPECT_TRUE(wants(with_state(TCP_LISTEN), conn));
		EXPECT_TRUE(wants(with_state(TCP_ESTABLISHED), conn));
		EXPECT_FALSE(wants(with_state(TCP_CLOSE), conn));
	}
	conn.path_len = 15;
	EXPECT_FALSE(wants(with_state(TCP_LISTEN), conn));
}

} // namespace
} // namespace tcpscope
