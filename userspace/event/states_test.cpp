// SPDX-License-Identifier: GPL-2.0
// Tests state_name() and parse_state(): kernel TCP state numbers and their names.
#include <gtest/gtest.h>

#include <netinet/tcp.h>

#include <cctype>
#include <optional>
#include <string>

#include "event/states.h"

namespace tcpscope {
namespace {

struct StateCase {
	unsigned num; // as in include/net/tcp_states.h
	const char *name;
};

constexpr StateCase kStates[] = {
	{1, "ESTABLISHED"}, {2, "SYN_SENT"},  {3, "SYN_RECV"}, {4, "FIN_WAIT1"},
	{5, "FIN_WAIT2"},   {6, "TIME_WAIT"}, {7, "CLOSE"},    {8, "CLOSE_WAIT"},
	{9, "LAST_ACK"},    {10, "LISTEN"},   {11, "CLOSING"},
};

TEST(States, KernelNumbers)
{
	// the table in states.cpp uses <netinet/tcp.h>; pin it to the kernel's ABI
	EXPECT_EQ(TCP_ESTABLISHED, 1);
	EXPECT_EQ(TCP_SYN_SENT, 2);
	EXPECT_EQ(TCP_SYN_RECV, 3);
	EXPECT_EQ(TCP_FIN_WAIT1, 4);
	EXPECT_EQ(TCP_FIN_WAIT2, 5);
	EXPECT_EQ(TCP_TIME_WAIT, 6);
	EXPECT_EQ(TCP_CLOSE, 7);
	EXPECT_EQ(TCP_CLOSE_WAIT, 8);
	EXPECT_EQ(TCP_LAST_ACK, 9);
	EXPECT_EQ(TCP_LISTEN, 10);
	EXPECT_EQ(TCP_CLOSING, 11);
}

TEST(States, NameOfEveryState)
{
	for (const auto &s : kStates)
		EXPECT_EQ(state_name(s.num), s.name) << s.num;
}

TEST(States, RoundTrip)
{
	for (const auto &s : kStates) {
		auto n = parse_state(s.name);
		ASSERT_TRUE(n.has_value()) << s.name;
		EXPECT_EQ(*n, s.num) << s.name;
		EXPECT_EQ(state_name(*parse_state(state_name(s.num))), s.name);
	}
}

char lower(char c)
{
	return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

TEST(States, CaseInsensitive)
{
	for (const auto &s : kStates) {
		std::string low, mixed;
		bool up = false;

		for (const char *p = s.name; *p; p++) {
			low += lower(*p);
			mixed += up ? *p : lower(*p);
			up = !up;
		}
		EXPECT_EQ(parse_state(low), std::optional<unsigned>(s.num)) << low;
		EXPECT_EQ(parse_state(mixed), std::optional<unsigned>(s.num)) << mixed;
	}
	EXPECT_EQ(parse_state("time_wait"), std::optional<unsigned>(6u));
	EXPECT_EQ(parse_state("Time_Wait"), std::optional<unsigned>(6u));
}

TEST(States, TcpPrefix)
{
	for (const auto &s : kStates) {
		const std::optional<unsigned> want = s.num;

		EXPECT_EQ(parse_state(std::string("TCP_") + s.name), want);
		EXPECT_EQ(parse_state(std::string("tcp_") + s.name), want);
	}
	EXPECT_EQ(parse_state("tcp_time_wait"), std::optional<unsigned>(6u));
	EXPECT_EQ(parse_state("Tcp_Listen"), std::optional<unsigned>(10u));
}

TEST(States, UnknownNames)
{
	EXPECT_EQ(parse_state(""), std::nullopt);
	EXPECT_EQ(parse_state("FOO"), std::nullopt);
	EXPECT_EQ(parse_state("TCP_"), std::nullopt);
	EXPECT_EQ(parse_state("tcp_tcp_listen"), std::nullopt);
	EXPECT_EQ(parse_state("TIME-WAIT"), std::nullopt);
	EXPECT_EQ(parse_state("TIMEWAIT"), std::nullopt);
	EXPECT_EQ(parse_state(" LISTEN"), std::nullopt);
	EXPECT_EQ(parse_state("LISTEN "), std::nullopt);
	EXPECT_EQ(parse_state("ESTABLISHE"), std::nullopt);
	EXPECT_EQ(parse_state("NEW_SYN_RECV"), std::nullopt);
	EXPECT_EQ(parse_state("UNKNOWN"), std::nullopt);
	EXPECT_EQ(parse_state("1"), std::nullopt);
	EXPECT_EQ(parse_state(std::string("LISTEN\0", 7)), std::nullopt);
}

TEST(States, UnknownNumbers)
{
	EXPECT_EQ(state_name(0), "UNKNOWN");
	EXPECT_EQ(state_name(12), "UNKNOWN"); // TCP_NEW_SYN_RECV
	EXPECT_EQ(state_name(15), "UNKNOWN");
	EXPECT_EQ(state_name(99), "UNKNOWN");
	EXPECT_EQ(state_name(~0u), "UNKNOWN");
}

} // namespace
} // namespace tcpscope
