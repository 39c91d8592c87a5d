// SPDX-License-Identifier: GPL-2.0
// Tests parse_ports(): the -L/-D port list syntax, its edges and its error messages.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "cli/port_list.h"

namespace tcpscope {
namespace {

TEST(ParsePorts, Single)
{
	auto r = parse_ports("80");
	ASSERT_TRUE(r.ok()) << r.error().message();
	EXPECT_EQ(r->count(), 1u);
	EXPECT_TRUE(r->test(80));
	EXPECT_FALSE(r->test(0));
	EXPECT_FALSE(r->test(79));
	EXPECT_FALSE(r->test(81));
}

TEST(ParsePorts, List)
{
	auto r = parse_ports("80,443,8080");
	ASSERT_TRUE(r.ok()) << r.error().message();
	EXPECT_EQ(r->count(), 3u);
	EXPECT_TRUE(r->test(80));
	EXPECT_TRUE(r->test(443));
	EXPECT_TRUE(r->test(8080));
}

TEST(ParsePorts, DuplicatesCountOnce)
{
	auto r = parse_ports("80,80,79-81");
	ASSERT_TRUE(r.ok()) << r.error().message();
	EXPECT_EQ(r->count(), 3u);
	EXPECT_TRUE(r->test(79));
	EXPECT_TRUE(r->test(80));
	EXPECT_TRUE(r->test(81));
}

TEST(ParsePorts, Range)
{
	auto r = parse_ports("8000-8100");
	ASSERT_TRUE(r.ok()) << r.error().message();
	EXPECT_EQ(r->count(), 101u);
	EXPECT_FALSE(r->test(7999));
	EXPECT_TRUE(r->test(8000));
	EXPECT_TRUE(r->test(8050));
	EXPECT_TRUE(r->test(8100));
	EXPECT_FALSE(r->test(8101));
}

TEST(ParsePorts, RangesAndPortsMixed)
{
	auto r = parse_ports("22,8000-8009,9090,100-101");
	ASSERT_TRUE(r.ok()) << r.error().message();
	EXPECT_EQ(r->count(), 1u + 10u + 1u + 2u);
	EXPECT_TRUE(r->test(22));
	EXPECT_TRUE(r->test(8000));
	EXPECT_TRUE(r->test(8009));
	EXPECT_FALSE(r->test(8010));
	EXPECT_TRUE(r->test(9090));
	EXPECT_TRUE(r->test(100));
	EXPECT_TRUE(r->test(101));
}

TEST(ParsePorts, SinglePortRange)
{
	auto r = parse_ports("443-443");
	ASSERT_TRUE(r.ok()) << r.error().message();
	EXPECT_EQ(r->count(), 1u);
	EXPECT_TRUE(r->test(443));
}

TEST(ParsePorts, Edges)
{
	auto lo = parse_ports("1");
	ASSERT_TRUE(lo.ok()) << lo.error().message();
	EXPECT_EQ(lo->count(), 1u);
	EXPECT_TRUE(lo->test(1));

	auto hi = parse_ports("65535");
	ASSERT_TRUE(hi.ok()) << hi.error().message();
	EXPECT_EQ(hi->count(), 1u);
	EXPECT_TRUE(hi->test(65535));

	auto all = parse_ports("1-65535");
	ASSERT_TRUE(all.ok()) << all.error().message();
	EXPECT_EQ(all->count(), 65535u);
	EXPECT_FALSE(all->test(0));
	EXPECT_TRUE(all->test(65535));
}

TEST(ParsePorts, LeadingZerosAreStillPorts)
{
	auto r = parse_ports("00080");
	ASSERT_TRUE(r.ok()) << r.error().message();
	EXPECT_EQ(r->count(), 1u);
	EXPECT_TRUE(r->test(80));
}

TEST(ParsePorts, EmptyList)
{
	auto r = parse_ports("");
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().err, 0);
	EXPECT_EQ(r.error().message(), "failed to parse port list '': empty list");
}

struct BadPorts {
	const char *spec;
	const char *piece; // quoted in the message as '<piece>'
};

void PrintTo(const BadPorts &b, std::ostream *os)
{
	*os << "'" << b.spec << "'";
}

class ParsePortsBad : public ::testing::TestWithParam<BadPorts> {};

TEST_P(ParsePortsBad, ErrorNamesThePiece)
{
	const BadPorts &b = GetParam();
	auto r = parse_ports(b.spec);

	ASSERT_FALSE(r.ok()) << "'" << b.spec << "' accepted";
	const std::string msg = r.error().message();
	EXPECT_EQ(r.error().err, 0);
	EXPECT_EQ(r.error().op, "parse port list");
	EXPECT_EQ(r.error().object, "'" + std::string(b.spec) + "'");
	EXPECT_NE(msg.find("'" + std::string(b.piece) + "' is "), std::string::npos) << msg;
	EXPECT_EQ(msg.rfind("failed to parse port list '" + std::string(b.spec) + "': ", 0), 0u)
		<< msg;
}

INSTANTIATE_TEST_SUITE_P(Pieces, ParsePortsBad,
			 ::testing::Values(BadPorts{"0", "0"}, BadPorts{"65536", "65536"},
					   BadPorts{"-1", "-1"}, BadPorts{"80,", ""},
					   BadPorts{",80", ""}, BadPorts{"80-", "80-"},
					   BadPorts{"9-3", "9-3"}, BadPorts{"abc", "abc"},
					   BadPorts{"80 81", "80 81"}, BadPorts{"1-2-3", "1-2-3"},
					   BadPorts{"+80", "+80"}, BadPorts{"80,,443", ""},
					   BadPorts{"443,0-10", "0-10"},
					   BadPorts{"100000", "100000"}, BadPorts{"0x50", "0x50"},
					   BadPorts{" 80", " 80"}, BadPorts{"80,abc,443", "abc"},
					   BadPorts{"-", "-"}, BadPorts{"1-65536", "1-65536"},
					   BadPorts{"000080", "000080"}));

TEST(ParsePorts, ExactMessages)
{
	auto single = parse_ports("80,0");
	ASSERT_FALSE(single.ok());
	EXPECT_EQ(single.error().message(),
		  "failed to parse port list '80,0': '0' is not a port (1-65535)");

	auto range = parse_ports("80-");
	ASSERT_FALSE(range.ok());
	EXPECT_EQ(range.error().message(),
		  "failed to parse port list '80-': '80-' is not a port range (LO-HI, 1-65535)");

	auto empty = parse_ports("9-3");
	ASSERT_FALSE(empty.ok());
	EXPECT_EQ(empty.error().message(),
		  "failed to parse port list '9-3': '9-3' is an empty range (LO > HI)");
}

} // namespace
} // namespace tcpscope
