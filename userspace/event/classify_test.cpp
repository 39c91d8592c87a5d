// SPDX-License-Identifier: GPL-2.0
// Tests the shared classification rules tcpscope_classify_close/_handshake of bpf/tcpscope.h.
#include <gtest/gtest.h>

#include <linux/types.h>

#include "tcpscope.h"

namespace {

// Facts that never decide the close classification on their own.
constexpr __u32 kNeutral = F_SEEN_OPEN | F_ESTABLISHED | F_SYN_DATA | F_SYN_DATA_ACKED |
			   F_TIME_WAIT | F_PATH_TRUNC | F_LISTENER;

TEST(ClassifyClose, Nothing)
{
	EXPECT_EQ(tcpscope_classify_close(0, 0), CLOSE_UNKNOWN);
	EXPECT_EQ(tcpscope_classify_close(kNeutral, 0), CLOSE_UNKNOWN);
	// probes alone, without ETIMEDOUT, are not a keepalive close
	EXPECT_EQ(tcpscope_classify_close(0, 5), CLOSE_UNKNOWN);
	// FIN_WITH_ACK only qualifies an active close
	EXPECT_EQ(tcpscope_classify_close(F_FIN_WITH_ACK, 0), CLOSE_UNKNOWN);
}

TEST(ClassifyClose, EachRuleAlone)
{
	EXPECT_EQ(tcpscope_classify_close(F_ETIMEDOUT, 1), CLOSE_KEEPALIVE);
	EXPECT_EQ(tcpscope_classify_close(F_ETIMEDOUT, 9), CLOSE_KEEPALIVE);
	EXPECT_EQ(tcpscope_classify_close(F_ETIMEDOUT, 0xffff), CLOSE_KEEPALIVE);
	EXPECT_EQ(tcpscope_classify_close(F_ABORT, 0), CLOSE_ABORT);
	EXPECT_EQ(tcpscope_classify_close(F_RST_RCVD, 0), CLOSE_RST_RECEIVED);
	EXPECT_EQ(tcpscope_classify_close(F_RST_SENT, 0), CLOSE_RST_SENT);
	EXPECT_EQ(tcpscope_classify_close(F_ETIMEDOUT, 0), CLOSE_TIMEOUT);
	EXPECT_EQ(tcpscope_classify_close(F_CLOSING, 0), CLOSE_SIMULTANEOUS);
	EXPECT_EQ(tcpscope_classify_close(F_FIN_WAIT1 | F_FIN_WITH_ACK, 0), CLOSE_ACTIVE_3WAY);
	EXPECT_EQ(tcpscope_classify_close(F_FIN_WAIT1, 0), CLOSE_ACTIVE_4WAY);
	EXPECT_EQ(tcpscope_classify_close(F_CLOSE_WAIT, 0), CLOSE_PASSIVE);
}

TEST(ClassifyClose, TypicalLifecycles)
{
	const __u32 est = F_SEEN_OPEN | F_ESTABLISHED;

	EXPECT_EQ(tcpscope_classify_close(est | F_FIN_WAIT1 | F_TIME_WAIT, 0), CLOSE_ACTIVE_4WAY);
	EXPECT_EQ(tcpscope_classify_close(est | F_FIN_WAIT1 | F_FIN_WITH_ACK | F_TIME_WAIT, 0),
		  CLOSE_ACTIVE_3WAY);
	EXPECT_EQ(tcpscope_classify_close(est | F_CLOSE_WAIT, 0), CLOSE_PASSIVE);
	EXPECT_EQ(tcpscope_classify_close(est | F_FIN_WAIT1 | F_CLOSING | F_TIME_WAIT, 0),
		  CLOSE_SIMULTANEOUS);
	// connection refused: SYN_SENT then RST
	EXPECT_EQ(tcpscope_classify_close(F_SEEN_OPEN | F_RST_RCVD, 0), CLOSE_RST_RECEIVED);
	// close() with unread data
	EXPECT_EQ(tcpscope_classify_close(est | F_RST_SENT, 0), CLOSE_RST_SENT);
	// SO_LINGER 0 sends a RST too: abort wins
	EXPECT_EQ(tcpscope_classify_close(est | F_ABORT | F_RST_SENT, 0), CLOSE_ABORT);
	// keepalive gave up after 9 probes; the kernel also sends a RST
	EXPECT_EQ(tcpscope_classify_close(est | F_ETIMEDOUT | F_RST_SENT, 9), CLOSE_KEEPALIVE);
	// SYN retransmissions timed out
	EXPECT_EQ(tcpscope_classify_close(F_SEEN_OPEN | F_ETIMEDOUT, 0), CLOSE_TIMEOUT);
}

// Rules in priority order, each with the facts that select it. Every rule must win over every
// rule below it, whatever else is set.
struct Rule {
	__u32 facts;
	__u16 probes;
	__u8 close;
};

constexpr Rule kRules[] = {
	{F_ETIMEDOUT, 3, CLOSE_KEEPALIVE},
	{F_ABORT, 0, CLOSE_ABORT},
	{F_RST_RCVD, 0, CLOSE_RST_RECEIVED},
	{F_RST_SENT, 0, CLOSE_RST_SENT},
	{F_ETIMEDOUT, 0, CLOSE_TIMEOUT},
	{F_CLOSING, 0, CLOSE_SIMULTANEOUS},
	{F_FIN_WAIT1 | F_FIN_WITH_ACK, 0, CLOSE_ACTIVE_3WAY},
	{F_FIN_WAIT1, 0, CLOSE_ACTIVE_4WAY},
	{F_CLOSE_WAIT, 0, CLOSE_PASSIVE},
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
	const __u32 rest = F_ABORT | F_RST_RCVD | F_RST_SENT | F_CLOSING | F_FIN_WAIT1 |
			   F_FIN_WITH_ACK | F_CLOSE_WAIT;

	EXPECT_EQ(tcpscope_classify_close(F_ETIMEDOUT | rest, 1), CLOSE_KEEPALIVE);
	EXPECT_EQ(tcpscope_classify_close(F_ETIMEDOUT | rest, 0), CLOSE_ABORT);
	EXPECT_EQ(tcpscope_classify_close(rest, 1), CLOSE_ABORT);
	EXPECT_EQ(tcpscope_classify_close(F_ETIMEDOUT | F_CLOSE_WAIT, 0), CLOSE_TIMEOUT);
	EXPECT_EQ(tcpscope_classify_close(F_CLOSE_WAIT, 2), CLOSE_PASSIVE);
}

TEST(ClassifyHandshake, NotSeenOpening)
{
	EXPECT_EQ(tcpscope_classify_handshake(0), HS_UNKNOWN);
	EXPECT_EQ(tcpscope_classify_handshake(F_ESTABLISHED), HS_UNKNOWN);
	EXPECT_EQ(tcpscope_classify_handshake(F_ESTABLISHED | F_SYN_DATA | F_SYN_DATA_ACKED),
		  HS_UNKNOWN);
	EXPECT_EQ(tcpscope_classify_handshake(~F_SEEN_OPEN), HS_UNKNOWN);
}

TEST(ClassifyHandshake, NeverEstablished)
{
	EXPECT_EQ(tcpscope_classify_handshake(F_SEEN_OPEN), HS_NONE);
	EXPECT_EQ(tcpscope_classify_handshake(F_SEEN_OPEN | F_SYN_DATA), HS_NONE);
	EXPECT_EQ(tcpscope_classify_handshake(F_SEEN_OPEN | F_SYN_DATA | F_SYN_DATA_ACKED),
		  HS_NONE);
	EXPECT_EQ(tcpscope_classify_handshake(F_SEEN_OPEN | F_RST_RCVD | F_ETIMEDOUT), HS_NONE);
	EXPECT_EQ(tcpscope_classify_handshake(~F_ESTABLISHED), HS_NONE);
}

TEST(ClassifyHandshake, Established)
{
	const __u32 est = F_SEEN_OPEN | F_ESTABLISHED;

	EXPECT_EQ(tcpscope_classify_handshake(est), HS_3WHS);
	EXPECT_EQ(tcpscope_classify_handshake(est | F_FIN_WAIT1 | F_TIME_WAIT | F_RST_SENT),
		  HS_3WHS);
	EXPECT_EQ(tcpscope_classify_handshake(est | F_SYN_DATA), HS_FASTOPEN_REJECTED);
	EXPECT_EQ(tcpscope_classify_handshake(est | F_SYN_DATA | F_SYN_DATA_ACKED), HS_FASTOPEN);
	// acked wins even if syn_data were somehow unset
	EXPECT_EQ(tcpscope_classify_handshake(est | F_SYN_DATA_ACKED), HS_FASTOPEN);
	EXPECT_EQ(tcpscope_classify_handshake(~0u), HS_FASTOPEN);
	EXPECT_EQ(tcpscope_classify_handshake(~F_SYN_DATA_ACKED), HS_FASTOPEN_REJECTED);
}

TEST(Classify, FactBitsAreDistinct)
{
	const __u32 bits[] = {F_SEEN_OPEN, F_ESTABLISHED, F_FIN_WAIT1, F_CLOSE_WAIT,
			      F_CLOSING, F_FIN_WITH_ACK, F_RST_SENT, F_RST_RCVD,
			      F_ABORT, F_ETIMEDOUT, F_SYN_DATA, F_SYN_DATA_ACKED,
			      F_TIME_WAIT, F_PATH_TRUNC, F_LISTENER};
	__u32 seen = 0;

	for (__u32 b : bits) {
		EXPECT_EQ(__builtin_popcount(b), 1);
		EXPECT_EQ(seen & b, 0u);
		seen |= b;
	}
}

} // namespace
