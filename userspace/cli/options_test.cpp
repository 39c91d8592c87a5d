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
	EXPECT_FALSE(w.snapshot);
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
	WatchOptions w =
		watch({"watch", "--ipv6", "--localport", "8000-8009", "--remoteport", "443,8443",
		       "--pid", "1", "-T", "--raw", "--csv", "-v", "--duration", "1.5", "--count",
		       "18446744073709551615", "--snapshot"});

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
	EXPECT_TRUE(w.snapshot);
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
	auto msg = [](const char *arg) {
		auto r = parse_netns(arg);
		return r.ok() ? std::string("accepted") : r.error().message();
	};

	EXPECT_EQ(msg("0"), "--netns: inode must be 1 to 4294967295 (got '0')");
	EXPECT_EQ(msg("4294967296"), "--netns: inode must be 1 to 4294967295 (got '4294967296')");
	EXPECT_EQ(msg("99999999999999999999999"),
		  "--netns: inode must be 1 to 4294967295 (got '99999999999999999999999')");
	EXPECT_EQ(msg("/nonexistent/ns/net"),
		  "--netns: cannot read the namespace file (got '/nonexistent/ns/net'): No such "
		  "file or directory");
	EXPECT_EQ(parse_netns("/nonexistent/ns/net").error().err, ENOENT);
	EXPECT_EQ(msg(""), "--netns: expected an inode, a namespace file or an 'ip netns' name "
			   "(got '')");
	// files that are not network namespaces: the four
	EXPECT_EQ(msg("/etc/passwd"), "--netns: not a namespace file (got '/etc/passwd')");
	EXPECT_EQ(msg("/proc/self/ns/pid"),
		  "--netns: not a network namespace but a pid namespace (got '/proc/self/ns/pid')");
	EXPECT_EQ(msg("/proc/self/ns/uts"),
		  "--netns: not a network namespace but a uts namespace (got '/proc/self/ns/uts')");
	EXPECT_EQ(msg("/proc"), "--netns: not a namespace file (got '/proc')");
	EXPECT_EQ(msg("/dev/null"), "--netns: not a namespace file (got '/dev/null')");
	// a name without '/' is an `ip netns` name
	EXPECT_EQ(msg("no-such-ns-tcpscope"),
		  "--netns: no namespace 'no-such-ns-tcpscope' in /run/netns (got "
		  "'no-such-ns-tcpscope'): No such file or directory");
	EXPECT_EQ(msg(".."), "--netns: not an 'ip netns' name (got '..')");
}

TEST(ParseNetns, OwnNamespaceIsKnown)
{
	struct stat st;
	ASSERT_EQ(stat("/proc/self/ns/net", &st), 0);
	EXPECT_TRUE(netns_known(static_cast<uint32_t>(st.st_ino)));
	EXPECT_FALSE(netns_known(1)); // nsfs inodes are large, never 1
}

TEST(ParseCli, CountOnEveryLoop)
{
	auto w = parse({"watch", "-c", "3"});
	ASSERT_TRUE(w.ok()) << w.error().message();
	EXPECT_EQ(std::get<WatchOptions>(*w).count, 3u);
	auto t = parse({"top", "-c", "2", "-i", "0.5", "-n", "100"});
	ASSERT_TRUE(t.ok()) << t.error().message();
	EXPECT_EQ(std::get<TopOptions>(*t).count, 2u);
	EXPECT_EQ(std::get<TopOptions>(*t).ports, 100u);
	EXPECT_DOUBLE_EQ(std::get<TopOptions>(*t).interval, 0.5);
	auto s = parse({"stats", "-c", "18446744073709551615", "-i", "1e-1"});
	ASSERT_TRUE(s.ok()) << s.error().message();
	EXPECT_EQ(std::get<StatsOptions>(*s).count, UINT64_MAX);
	EXPECT_DOUBLE_EQ(std::get<StatsOptions>(*s).interval, 0.1);
	auto s2 = parse({"stats", "-i", "2"});
	ASSERT_TRUE(s2.ok());
	EXPECT_EQ(std::get<StatsOptions>(*s2).count, 0u);
}

TEST(ParseCli, NetnsInodeWarning)
{
	std::vector<std::string> warnings;
	std::vector<const char *> argv{"tcpscope", "stats", "--netns", "1"};
	auto r = parse_cli(int(argv.size()), argv.data(), &warnings);
	ASSERT_TRUE(r.ok()) << r.error().message();
	ASSERT_EQ(warnings.size(), 1u);
	EXPECT_EQ(warnings[0], "--netns 1: no process or /run/netns file holds this network "
			       "namespace now; nothing matches until one does");
	warnings.clear();
	std::vector<const char *> own{"tcpscope", "top", "--netns", "/proc/self/ns/net"};
	ASSERT_TRUE(parse_cli(int(own.size()), own.data(), &warnings).ok());
	EXPECT_TRUE(warnings.empty());
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

// The exact message of each: one style, "<flag>: <what is wrong> (got '<value>')".
INSTANTIATE_TEST_SUITE_P(
	Cases, ParseCliBad,
	::testing::Values(
		BadCli{{"watch", "-4", "-6"}, "-4 and -6 exclude each other"},
		BadCli{{"watch", "--json", "--csv"}, "--json and --csv exclude each other"},
		BadCli{{"watch", "--raw", "--summary"}, "--raw and --summary exclude each other"},
		BadCli{{"watch", "-L", "0"}, "-L: '0' is not a port (1-65535) (got '0')"},
		BadCli{{"watch", "-L", ""}, "-L: empty list (got '')"},
		BadCli{{"watch", "-D", "80,"}, "-D: '' is not a port (1-65535) (got '80,')"},
		BadCli{{"watch", "-D", "9-3"}, "-D: '9-3' is an empty range (LO > HI) (got '9-3')"},
		BadCli{{"watch", "--state", "FOO"},
		       "--state: not a TCP state (ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, "
		       "FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING) (got "
		       "'FOO')"},
		BadCli{{"watch", "--state", ""}, "--state: not a TCP state ("},
		BadCli{{"watch", "--count", "0"},
		       "--count: must be a whole number from 1 to 18446744073709551615 (got '0')"},
		BadCli{{"watch", "--count", "-3"},
		       "--count: must be a whole number from 1 to 18446744073709551615 (got '-3')"},
		BadCli{{"watch", "-c", "-1"}, "--count: must be a whole number from 1 to"},
		BadCli{{"watch", "--count=-1"}, "(got '-1')"},
		BadCli{{"watch", "--count", "many"}, "(got 'many')"},
		BadCli{{"watch", "--count", "18446744073709551616"},
		       "--count: must be a whole number from 1 to 18446744073709551615 (got "
		       "'18446744073709551616')"},
		BadCli{{"watch", "--count", "+5"}, "(got '+5')"},
		BadCli{{"watch", "--count", " 5"}, "(got ' 5')"},
		BadCli{{"watch", "--duration", "-1"}, "--duration: must be > 0 (got '-1')"},
		BadCli{{"watch", "--duration", "0"}, "--duration: must be > 0 (got '0')"},
		BadCli{{"watch", "--duration", "soon"},
		       "--duration: not a number of seconds (got 'soon')"},
		BadCli{{"watch", "--duration", "nan"},
		       "--duration: not a number of seconds (got 'nan')"},
		BadCli{{"watch", "--duration", "inf"},
		       "--duration: not a number of seconds (got 'inf')"},
		BadCli{{"watch", "--duration", "1e300"},
		       "--duration: must be > 0 and at most 1000000000 seconds (got '1e300')"},
		BadCli{{"watch", "-p", "0"},
		       "--pid: must be a whole number from 1 to 4194304 (got '0')"},
		BadCli{{"watch", "-p", "4194305"},
		       "--pid: must be a whole number from 1 to 4194304 (got '4194305')"},
		BadCli{{"watch", "-p", "abc"},
		       "--pid: must be a whole number from 1 to 4194304 (got 'abc')"},
		BadCli{{"watch", "--netns", "0"}, "--netns: inode must be 1 to 4294967295"},
		BadCli{{"watch", "--netns", "/etc/passwd"}, "--netns: not a namespace file"},
		BadCli{{"watch", "--bogus"}, "--bogus: unknown option of watch"},
		BadCli{{"watch", "-x"}, "-x: unknown option of watch"},
		BadCli{{"watch", "extra"}, "watch: unexpected argument 'extra'"},
		BadCli{{"watch", "-L"}, "--localport: needs a value"},
		BadCli{{"watch", "--state"}, "--state: needs a value"},
		BadCli{{"watch", "-c", "1", "-c", "2"}, "--count: given more than once"},
		BadCli{{"--bogus", "watch"}, "--bogus: unknown option"},
		BadCli{{}, "a subcommand is required (watch, stats, top, serve or lab)"},
		BadCli{{"bogus"}, "'bogus' is not a subcommand (watch, stats, top, serve or lab)"},
		BadCli{{"frobnicate", "watch"}, "'frobnicate' is not a subcommand"},
		BadCli{{"-4"}, "-4: unknown option"},
		BadCli{{"stats", "-i", "0"}, "--interval: must be 0.1 to 86400 seconds (got '0')"},
		BadCli{{"stats", "-i", "abc"}, "--interval: not a number of seconds (got 'abc')"},
		BadCli{{"stats", "-c", "0"}, "--count: must be a whole number from 1 to"},
		BadCli{{"stats", "--json", "--prometheus"},
		       "--json and --prometheus exclude each other"},
		BadCli{{"stats", "--netns", "/proc/self/ns/mnt"},
		       "--netns: not a network namespace but a mount namespace"},
		BadCli{{"top", "-i", "0"}, "--interval: must be 0.1 to 3600 seconds (got '0')"},
		BadCli{{"top", "-i", "3601"},
		       "--interval: must be 0.1 to 3600 seconds (got '3601')"},
		BadCli{{"top", "-n", "101"},
		       "--ports: must be a whole number from 1 to 100 (got '101')"},
		BadCli{{"top", "-c", "18446744073709551616"},
		       "--count: must be a whole number from 1 to 18446744073709551615"},
		BadCli{{"serve", "--listen", "localhost:1"},
		       "--listen: 'localhost' is not a numeric"},
		BadCli{{"serve", "x"}, "serve: unexpected argument 'x'"}));

// The message is the whole line after "tcpscope: ": no "failed to parse" around a flag's.
TEST(ParseCli, FlagErrorIsTheWholeMessage)
{
	auto r = parse({"watch", "--duration", "0"});
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().message(), "--duration: must be > 0 (got '0')");
}

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
		BadCli{{"lab"}, "lab: needs list, all or an experiment (tcpscope lab list)"},
		BadCli{{"lab", "all", "--variant", "default"}, "--variant: needs one experiment"},
		BadCli{{"lab", "list", "--variant", "list"}, "--variant: needs one experiment"},
		BadCli{{"lab", "all", "--pcap", "x"}, "--pcap: needs one experiment, not 'all'"},
		BadCli{{"lab", "all", "--svg", "x"}, "--svg: needs one experiment, not 'all'"},
		BadCli{{"lab", "list", "--long"}, "--long: applies to experiments"},
		BadCli{{"lab", "close3", "extra"}, "lab: unexpected argument 'extra'"}));

} // namespace
} // namespace tcpscope
