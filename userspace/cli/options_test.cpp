// SPDX-License-Identifier: GPL-2.0
// Tests parse_cli() and parse_netns(): the `watch` command line, valid and invalid.
#include <gtest/gtest.h>

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "cli/options.h"

namespace tcpscope {
namespace {

Result<Command> parse(std::initializer_list<const char *> args)
{
	std::vector<const char *> argv{"tcpscope"};

	argv.insert(argv.end(), args.begin(), args.end());
	return parse_cli(static_cast<int>(argv.size()), argv.data());
}

// Parses args that must be a valid `watch`, failing the test otherwise.
WatchOptions watch(std::initializer_list<const char *> args)
{
	auto r = parse(args);

	if (!r.ok()) {
		ADD_FAILURE() << r.error().message();
		return {};
	}
	if (!std::holds_alternative<WatchOptions>(*r)) {
		ADD_FAILURE() << "not a watch command";
		return {};
	}
	return std::get<WatchOptions>(*r);
}

TEST(ParseCli, WatchDefaults)
{
	WatchOptions w = watch({"watch"});

	EXPECT_EQ(w.family, 0u);
	EXPECT_FALSE(w.lports.has_value());
	EXPECT_FALSE(w.dports.has_value());
	EXPECT_FALSE(w.state.has_value());
	EXPECT_EQ(w.netns, 0u);
	EXPECT_EQ(w.pid, 0u);
	EXPECT_FALSE(w.wall_time);
	EXPECT_FALSE(w.raw);
	EXPECT_FALSE(w.summary);
	EXPECT_FALSE(w.verbose);
	EXPECT_EQ(w.duration, 0);
	EXPECT_EQ(w.count, 0u);
	EXPECT_EQ(w.format, OutputFormat::text);
}

TEST(ParseCli, WatchIpv4PortsJsonCount)
{
	WatchOptions w = watch({"watch", "-4", "-L", "80,443", "--json", "--count", "5"});

	EXPECT_EQ(w.family, unsigned(AF_INET));
	ASSERT_TRUE(w.lports.has_value());
	EXPECT_EQ(w.lports->count(), 2u);
	EXPECT_TRUE(w.lports->test(80));
	EXPECT_TRUE(w.lports->test(443));
	EXPECT_FALSE(w.dports.has_value());
	EXPECT_EQ(w.format, OutputFormat::json);
	EXPECT_EQ(w.count, 5u);
	EXPECT_FALSE(w.state.has_value());
	EXPECT_EQ(w.netns, 0u);
	EXPECT_FALSE(w.raw);
	EXPECT_FALSE(w.summary);
}

TEST(ParseCli, WatchEveryOption)
{
	WatchOptions w = watch({"watch", "--ipv6", "--localport", "8000-8009", "--remoteport",
				"443,8443", "--pid", "1", "-T", "--raw", "--csv", "-v",
				"--duration", "1.5", "--count", "18446744073709551615"});

	EXPECT_EQ(w.family, unsigned(AF_INET6));
	ASSERT_TRUE(w.lports.has_value());
	EXPECT_EQ(w.lports->count(), 10u);
	EXPECT_TRUE(w.lports->test(8000));
	EXPECT_TRUE(w.lports->test(8009));
	ASSERT_TRUE(w.dports.has_value());
	EXPECT_EQ(w.dports->count(), 2u);
	EXPECT_TRUE(w.dports->test(443));
	EXPECT_TRUE(w.dports->test(8443));
	EXPECT_EQ(w.pid, 1u);
	EXPECT_TRUE(w.wall_time);
	EXPECT_TRUE(w.raw);
	EXPECT_FALSE(w.summary);
	EXPECT_TRUE(w.verbose);
	EXPECT_EQ(w.format, OutputFormat::csv);
	EXPECT_DOUBLE_EQ(w.duration, 1.5);
	EXPECT_EQ(w.count, UINT64_MAX);
}

TEST(ParseCli, ShortFlags)
{
	WatchOptions w = watch({"watch", "-6", "-D", "22", "-p", "4194304", "--summary"});

	EXPECT_EQ(w.family, unsigned(AF_INET6));
	EXPECT_FALSE(w.lports.has_value());
	ASSERT_TRUE(w.dports.has_value());
	EXPECT_EQ(w.dports->count(), 1u);
	EXPECT_TRUE(w.dports->test(22));
	EXPECT_EQ(w.pid, 4194304u);
	EXPECT_TRUE(w.summary);
	EXPECT_FALSE(w.raw);
}

TEST(ParseCli, State)
{
	EXPECT_EQ(watch({"watch", "--state", "time_wait"}).state, std::optional<unsigned>(6u));
	EXPECT_EQ(watch({"watch", "--state", "TIME_WAIT"}).state, std::optional<unsigned>(6u));
	EXPECT_EQ(watch({"watch", "--state", "TCP_Established"}).state,
		  std::optional<unsigned>(1u));
	EXPECT_EQ(watch({"watch", "--state=listen"}).state, std::optional<unsigned>(10u));
}

TEST(ParseCli, NetnsInode)
{
	EXPECT_EQ(watch({"watch", "--netns", "4026531840"}).netns, 4026531840u);
	EXPECT_EQ(watch({"watch", "--netns", "1"}).netns, 1u);
	EXPECT_EQ(watch({"watch", "--netns", "4294967295"}).netns, 4294967295u);
}

TEST(ParseCli, NetnsFile)
{
	struct stat st;

	ASSERT_EQ(stat("/proc/self/ns/net", &st), 0);
	WatchOptions w = watch({"watch", "--netns", "/proc/self/ns/net"});
	EXPECT_EQ(w.netns, static_cast<uint32_t>(st.st_ino));
	EXPECT_NE(w.netns, 0u);
}

TEST(ParseNetns, Errors)
{
	auto zero = parse_netns("0");
	ASSERT_FALSE(zero.ok());
	EXPECT_EQ(zero.error().message(),
		  "failed to parse --netns '0': inode must be 1..4294967295");

	auto big = parse_netns("4294967296");
	ASSERT_FALSE(big.ok());
	EXPECT_EQ(big.error().message(),
		  "failed to parse --netns '4294967296': inode must be 1..4294967295");

	auto missing = parse_netns("/nonexistent/ns/net");
	ASSERT_FALSE(missing.ok());
	EXPECT_EQ(missing.error().err, ENOENT);
	EXPECT_EQ(missing.error().message(),
		  "failed to parse --netns '/nonexistent/ns/net': No such file or directory: "
		  "expected an inode number or a namespace file");

	EXPECT_FALSE(parse_netns("").ok());
}

TEST(ParseCli, Help)
{
	for (auto args : {std::initializer_list<const char *>{"--help"},
			  std::initializer_list<const char *>{"-h"},
			  std::initializer_list<const char *>{"watch", "--help"}}) {
		testing::internal::CaptureStdout();
		auto r = parse(args);
		std::string out = testing::internal::GetCapturedStdout();

		ASSERT_TRUE(r.ok()) << r.error().message();
		ASSERT_TRUE(std::holds_alternative<Exit>(*r));
		EXPECT_EQ(std::get<Exit>(*r).code, 0);
		EXPECT_NE(out.find("watch"), std::string::npos) << out;
	}
}

TEST(ParseCli, Version)
{
	testing::internal::CaptureStdout();
	auto r = parse({"--version"});
	std::string out = testing::internal::GetCapturedStdout();

	ASSERT_TRUE(r.ok()) << r.error().message();
	ASSERT_TRUE(std::holds_alternative<Exit>(*r));
	EXPECT_EQ(std::get<Exit>(*r).code, 0);
	EXPECT_EQ(out, "tcpscope " TCPSCOPE_VERSION "\n");
}

// Every one of these must be rejected, with the Error naming what was wrong.
struct BadCli {
	std::vector<const char *> args;
	const char *in_message; // substring of Error::message()
};

void PrintTo(const BadCli &b, std::ostream *os)
{
	*os << "tcpscope";
	for (const char *a : b.args)
		*os << " '" << a << "'";
}

class ParseCliBad : public ::testing::TestWithParam<BadCli> {};

TEST_P(ParseCliBad, Rejected)
{
	const BadCli &b = GetParam();
	std::vector<const char *> argv{"tcpscope"};
	std::string joined;

	argv.insert(argv.end(), b.args.begin(), b.args.end());
	for (const char *a : b.args)
		joined += std::string(a) + " ";
	auto r = parse_cli(static_cast<int>(argv.size()), argv.data());
	ASSERT_FALSE(r.ok()) << "accepted: " << joined;
	EXPECT_NE(r.error().message().find(b.in_message), std::string::npos)
		<< joined << "-> " << r.error().message();
}

INSTANTIATE_TEST_SUITE_P(
	Cases, ParseCliBad,
	::testing::Values(
		BadCli{{"watch", "-4", "-6"},
		       "failed to parse command line: -4 and -6 exclude each other"},
		BadCli{{"watch", "--json", "--csv"}, "failed to parse command line: "},
		BadCli{{"watch", "--raw", "--summary"},
		       "failed to parse command line: --raw and --summary exclude each other"},
		BadCli{{"watch", "-L", "0"}, "failed to parse port list '0': '0' is not a port"},
		BadCli{{"watch", "-L", ""}, "failed to parse port list '': empty list"},
		BadCli{{"watch", "-D", "80,"}, "failed to parse port list '80,': '' is not a port"},
		BadCli{{"watch", "-D", "9-3"}, "'9-3' is an empty range"},
		BadCli{{"watch", "--state", "FOO"},
		       "failed to parse --state 'FOO': not a TCP state"},
		BadCli{{"watch", "--state", ""}, "failed to parse --state '': not a TCP state"},
		BadCli{{"watch", "--count", "0"}, "failed to parse command line: "},
		BadCli{{"watch", "--count", "-3"}, "failed to parse command line: "},
		BadCli{{"watch", "--count", "-1"}, "failed to parse command line: "},
		BadCli{{"watch", "--count=-1"}, "failed to parse command line: "},
		BadCli{{"watch", "--count", "many"}, "failed to parse command line: "},
		BadCli{{"watch", "--duration", "-1"}, "failed to parse command line: "},
		BadCli{{"watch", "--duration", "0"}, "failed to parse command line: "},
		BadCli{{"watch", "--duration", "soon"}, "failed to parse command line: "},
		BadCli{{"watch", "--duration", "nan"}, "failed to parse command line: "},
		BadCli{{"watch", "--duration", "inf"}, "failed to parse command line: "},
		BadCli{{"watch", "-p", "0"}, "failed to parse command line: "},
		BadCli{{"watch", "-p", "4194305"}, "failed to parse command line: "},
		BadCli{{"watch", "-p", "init"}, "failed to parse command line: "},
		BadCli{{"watch", "--netns", "0"}, "failed to parse --netns '0'"},
		BadCli{{"watch", "--netns", "/nonexistent"},
		       "failed to parse --netns '/nonexistent'"},
		BadCli{{"watch", "--bogus"}, "failed to parse command line: "},
		BadCli{{"watch", "-x"}, "failed to parse command line: "},
		BadCli{{"watch", "extra"}, "failed to parse command line: "},
		BadCli{{"watch", "-L"}, "failed to parse command line: "},
		BadCli{{"--bogus", "watch"}, "failed to parse command line: "},
		BadCli{{}, "failed to parse command line: "},
		BadCli{{"frobnicate"}, "failed to parse command line: "},
		BadCli{{"-4"}, "failed to parse command line: "}));

// `tcpscope lab`
LabOptions lab(std::initializer_list<const char *> args)
{
	auto r = parse(args);

	if (!r.ok()) {
		ADD_FAILURE() << r.error().message();
		return {};
	}
	if (!std::holds_alternative<LabOptions>(*r)) {
		ADD_FAILURE() << "not a lab command";
		return {};
	}
	return std::get<LabOptions>(*r);
}

TEST(ParseCli, Lab)
{
	LabOptions o = lab({"lab", "close3"});
	EXPECT_EQ(o.name, "close3");
	EXPECT_EQ(o.variant, "");
	EXPECT_FALSE(o.json);
	o = lab({"lab", "close3", "--variant", "late-close", "--json", "--pcap", "f.pcap", "--svg",
		 "f.svg", "-v"});
	EXPECT_EQ(o.variant, "late-close");
	EXPECT_TRUE(o.json);
	EXPECT_EQ(o.pcap, "f.pcap");
	EXPECT_EQ(o.svg, "f.svg");
	EXPECT_TRUE(o.verbose);
	EXPECT_EQ(lab({"lab", "close3", "--variant", "list"}).variant, "list");
	EXPECT_TRUE(lab({"lab", "list", "--json"}).json);
	o = lab({"lab", "all", "--long", "--json"});
	EXPECT_TRUE(o.long_runs);
	EXPECT_EQ(o.name, "all");
}

INSTANTIATE_TEST_SUITE_P(
	Lab, ParseCliBad,
	::testing::Values(
		BadCli{{"lab"}, "failed to parse command line: "},
		BadCli{{"lab", "all", "--variant", "default"}, "--variant needs one experiment"},
		BadCli{{"lab", "list", "--variant", "list"}, "--variant needs one experiment"},
		BadCli{{"lab", "all", "--pcap", "x"}, "--svg and --pcap need one experiment"},
		BadCli{{"lab", "all", "--svg", "x"}, "--svg and --pcap need one experiment"},
		BadCli{{"lab", "list", "--long"}, "--long applies to experiments"},
		BadCli{{"lab", "close3", "extra"}, "failed to parse command line: "}));

} // namespace
} // namespace tcpscope
