// SPDX-License-Identifier: GPL-2.0
// Tests the shared classification rules tcpscope_classify_close/_handshake of bpf/tcpscope.h.
#include <gtest/gtest.h>

#include <linux/types.h>

#include "tcpscope.h"

namespace {

// Facts that never decide the close classification on their own.
constexpr __u32 kNeutral = TCPSCOPE_F_SEEN_OPEN | TCPSCOPE_F_ESTABLISHED | TCPSCOPE_F_SYN_DATA |
			   TCPSCOPE_F_SYN_DATA_ACKED | TCPSCOPE_F_TIME_WAIT |
			   TCPSCOPE_F_PATH_TRUNC | TCPSCOPE_F_LISTENER;

TEST(ClassifyClose, Nothing)
{
	EXPECT_EQ(tcpscope_classify_close(0, 0), TCPSCOPE_CLOSE_UNKNOWN);
	EXPECT_EQ(tcpscope_classify_close(kNeutral, 0), TCPSCOPE_CLOSE_UNKNOWN);
	// probes alone, without ETIMEDOUT, are not a keepalive close
	EXPECT_EQ(tcpscope_classify_close(0, 5), TCPSCOPE_CLOSE_UNKNOWN);
	// FIN_WITH_ACK only qualifies an active close
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_FIN_WITH_ACK, 0), TCPSCOPE_CLOSE_UNKNOWN);
}

TEST(ClassifyClose, EachRuleAlone)
{
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_ETIMEDOUT, 1), TCPSCOPE_CLOSE_KEEPALIVE);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_ETIMEDOUT, 9), TCPSCOPE_CLOSE_KEEPALIVE);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_ETIMEDOUT, 0xffff), TCPSCOPE_CLOSE_KEEPALIVE);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_ABORT, 0), TCPSCOPE_CLOSE_ABORT);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_RST_RCVD, 0), TCPSCOPE_CLOSE_RST_RECEIVED);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_RST_SENT, 0), TCPSCOPE_CLOSE_RST_SENT);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_ETIMEDOUT, 0), TCPSCOPE_CLOSE_TIMEOUT);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_CLOSING, 0), TCPSCOPE_CLOSE_SIMULTANEOUS);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_FIN_WAIT1 | TCPSCOPE_F_FIN_WITH_ACK, 0),
		  TCPSCOPE_CLOSE_ACTIVE_3WAY);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_FIN_WAIT1, 0), TCPSCOPE_CLOSE_ACTIVE_4WAY);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_CLOSE_WAIT, 0), TCPSCOPE_CLOSE_PASSIVE);
}

TEST(ClassifyClose, TypicalLifecycles)
{
	const __u32 est = TCPSCOPE_F_SEEN_OPEN | TCPSCOPE_F_ESTABLISHED;

	EXPECT_EQ(tcpscope_classify_close(est | TCPSCOPE_F_FIN_WAIT1 | TCPSCOPE_F_TIME_WAIT, 0),
		  TCPSCOPE_CLOSE_ACTIVE_4WAY);
	EXPECT_EQ(tcpscope_classify_close(est | TCPSCOPE_F_FIN_WAIT1 | TCPSCOPE_F_FIN_WITH_ACK |
						  TCPSCOPE_F_TIME_WAIT,
					  0),
		  TCPSCOPE_CLOSE_ACTIVE_3WAY);
	EXPECT_EQ(tcpscope_classify_close(est | TCPSCOPE_F_CLOSE_WAIT, 0), TCPSCOPE_CLOSE_PASSIVE);
	EXPECT_EQ(tcpscope_classify_close(est | TCPSCOPE_F_FIN_WAIT1 | TCPSCOPE_F_CLOSING |
						  TCPSCOPE_F_TIME_WAIT,
					  0),
		  TCPSCOPE_CLOSE_SIMULTANEOUS);
	// connection refused: SYN_SENT then RST
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_SEEN_OPEN | TCPSCOPE_F_RST_RCVD, 0),
		  TCPSCOPE_CLOSE_RST_RECEIVED);
	// close() with unread data
	EXPECT_EQ(tcpscope_classify_close(est | TCPSCOPE_F_RST_SENT, 0), TCPSCOPE_CLOSE_RST_SENT);
	// SO_LINGER 0 sends a RST too: abort wins
	EXPECT_EQ(tcpscope_classify_close(est | TCPSCOPE_F_ABORT | TCPSCOPE_F_RST_SENT, 0),
		  TCPSCOPE_CLOSE_ABORT);
	// keepalive gave up after 9 probes; the kernel also sends a RST
	EXPECT_EQ(tcpscope_classify_close(est | TCPSCOPE_F_ETIMEDOUT | TCPSCOPE_F_RST_SENT, 9),
		  TCPSCOPE_CLOSE_KEEPALIVE);
	// SYN retransmissions timed out
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_SEEN_OPEN | TCPSCOPE_F_ETIMEDOUT, 0),
		  TCPSCOPE_CLOSE_TIMEOUT);
}

// Rules in priority order, each with the facts that select it. Every rule must win over every
// rule below it, whatever else is set.
struct Rule {
	__u32 facts;
	__u16 probes;
	__u8 close;
};

constexpr Rule kRules[] = {
	{TCPSCOPE_F_ETIMEDOUT, 3, TCPSCOPE_CLOSE_KEEPALIVE},
	{TCPSCOPE_F_ABORT, 0, TCPSCOPE_CLOSE_ABORT},
	{TCPSCOPE_F_RST_RCVD, 0, TCPSCOPE_CLOSE_RST_RECEIVED},
	{TCPSCOPE_F_RST_SENT, 0, TCPSCOPE_CLOSE_RST_SENT},
	{TCPSCOPE_F_ETIMEDOUT, 0, TCPSCOPE_CLOSE_TIMEOUT},
	{TCPSCOPE_F_CLOSING, 0, TCPSCOPE_CLOSE_SIMULTANEOUS},
	{TCPSCOPE_F_FIN_WAIT1 | TCPSCOPE_F_FIN_WITH_ACK, 0, TCPSCOPE_CLOSE_ACTIVE_3WAY},
	{TCPSCOPE_F_FIN_WAIT1, 0, TCPSCOPE_CLOSE_ACTIVE_4WAY},
	{TCPSCOPE_F_CLOSE_WAIT, 0, TCPSCOPE_CLOSE_PASSIVE},
};
constexpr size_t kNumRules = sizeof(kRules) / sizeof(kRules[0]);

TEST(ClassifyClose, PriorityOverEveryLowerRule)
{
	for (size_t i = 0; i < kNumRules; i++) {
		// the rule plus all lower rules at once
		__u32 all = kRules[i].facts | kNeutral;
		for (size_t j = i + 1; j < kNumRules; j++)
			all |= kRules[j].facts;
		EXPECT_EQ(tcpscope_classify_close(all, kRules[i].probes), kRules[i].close)
			<< "rule " << i << " facts " << std::hex << all;

		// the rule against each lower rule, pairwise
		for (size_t j = i + 1; j < kNumRules; j++) {
			__u32 pair = kRules[i].facts | kRules[j].facts;
			EXPECT_EQ(tcpscope_classify_close(pair, kRules[i].probes), kRules[i].close)
				<< "rule " << i << " vs " << j;
		}
	}
}

TEST(ClassifyClose, KeepaliveNeedsBothTimeoutAndProbes)
{
	const __u32 rest = TCPSCOPE_F_ABORT | TCPSCOPE_F_RST_RCVD | TCPSCOPE_F_RST_SENT |
			   TCPSCOPE_F_CLOSING | TCPSCOPE_F_FIN_WAIT1 | TCPSCOPE_F_FIN_WITH_ACK |
			   TCPSCOPE_F_CLOSE_WAIT;

	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_ETIMEDOUT | rest, 1),
		  TCPSCOPE_CLOSE_KEEPALIVE);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_ETIMEDOUT | rest, 0), TCPSCOPE_CLOSE_ABORT);
	EXPECT_EQ(tcpscope_classify_close(rest, 1), TCPSCOPE_CLOSE_ABORT);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_ETIMEDOUT | TCPSCOPE_F_CLOSE_WAIT, 0),
		  TCPSCOPE_CLOSE_TIMEOUT);
	EXPECT_EQ(tcpscope_classify_close(TCPSCOPE_F_CLOSE_WAIT, 2), TCPSCOPE_CLOSE_PASSIVE);
}

TEST(ClassifyHandshake, NotSeenOpening)
{
	EXPECT_EQ(tcpscope_classify_handshake(0), TCPSCOPE_HS_UNKNOWN);
	EXPECT_EQ(tcpscope_classify_handshake(TCPSCOPE_F_ESTABLISHED), TCPSCOPE_HS_UNKNOWN);
	EXPECT_EQ(tcpscope_classify_handshake(TCPSCOPE_F_ESTABLISHED | TCPSCOPE_F_SYN_DATA |
					      TCPSCOPE_F_SYN_DATA_ACKED),
		  TCPSCOPE_HS_UNKNOWN);
	EXPECT_EQ(tcpscope_classify_handshake(~TCPSCOPE_F_SEEN_OPEN), TCPSCOPE_HS_UNKNOWN);
}

TEST(ClassifyHandshake, NeverEstablished)
{
	EXPECT_EQ(tcpscope_classify_handshake(TCPSCOPE_F_SEEN_OPEN), TCPSCOPE_HS_NONE);
	EXPECT_EQ(tcpscope_classify_handshake(TCPSCOPE_F_SEEN_OPEN | TCPSCOPE_F_SYN_DATA),
		  TCPSCOPE_HS_NONE);
	EXPECT_EQ(tcpscope_classify_handshake(TCPSCOPE_F_SEEN_OPEN | TCPSCOPE_F_SYN_DATA |
					      TCPSCOPE_F_SYN_DATA_ACKED),
		  TCPSCOPE_HS_NONE);
	EXPECT_EQ(tcpscope_classify_handshake(TCPSCOPE_F_SEEN_OPEN | TCPSCOPE_F_RST_RCVD |
					      TCPSCOPE_F_ETIMEDOUT),
		  TCPSCOPE_HS_NONE);
	EXPECT_EQ(tcpscope_classify_handshake(~TCPSCOPE_F_ESTABLISHED), TCPSCOPE_HS_NONE);
}

TEST(ClassifyHandshake, Established)
{
	const __u32 est = TCPSCOPE_F_SEEN_OPEN | TCPSCOPE_F_ESTABLISHED;

	EXPECT_EQ(tcpscope_classify_handshake(est), TCPSCOPE_HS_3WHS);
	EXPECT_EQ(tcpscope_classify_handshake(est | TCPSCOPE_F_FIN_WAIT1 | TCPSCOPE_F_TIME_WAIT |
					      TCPSCOPE_F_RST_SENT),
		  TCPSCOPE_HS_3WHS);
	EXPECT_EQ(tcpscope_classify_handshake(est | TCPSCOPE_F_SYN_DATA),
		  TCPSCOPE_HS_FASTOPEN_REJECTED);
	EXPECT_EQ(
		tcpscope_classify_handshake(est | TCPSCOPE_F_SYN_DATA | TCPSCOPE_F_SYN_DATA_ACKED),
		TCPSCOPE_HS_FASTOPEN);
	// acked wins even if syn_data were somehow unset
	EXPECT_EQ(tcpscope_classify_handshake(est | TCPSCOPE_F_SYN_DATA_ACKED),
		  TCPSCOPE_HS_FASTOPEN);
	EXPECT_EQ(tcpscope_classify_handshake(~0u), TCPSCOPE_HS_FASTOPEN);
	EXPECT_EQ(tcpscope_classify_handshake(~TCPSCOPE_F_SYN_DATA_ACKED),
		  TCPSCOPE_HS_FASTOPEN_REJECTED);
}

TEST(Classify, FactBitsAreDistinct)
{
	const __u32 bits[] = {
		TCPSCOPE_F_SEEN_OPEN,  TCPSCOPE_F_ESTABLISHED, TCPSCOPE_F_FIN_WAIT1,
		TCPSCOPE_F_CLOSE_WAIT, TCPSCOPE_F_CLOSING,     TCPSCOPE_F_FIN_WITH_ACK,
		TCPSCOPE_F_RST_SENT,   TCPSCOPE_F_RST_RCVD,    TCPSCOPE_F_ABORT,
		TCPSCOPE_F_ETIMEDOUT,  TCPSCOPE_F_SYN_DATA,    TCPSCOPE_F_SYN_DATA_ACKED,
		TCPSCOPE_F_TIME_WAIT,  TCPSCOPE_F_PATH_TRUNC,  TCPSCOPE_F_LISTENER};
	__u32 seen = 0;

	for (__u32 b : bits) {
		EXPECT_EQ(__builtin_popcount(b), 1);
		EXPECT_EQ(seen & b, 0u);
		seen |= b;
	}
}

} // namespace
