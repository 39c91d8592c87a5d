// SPDX-License-Identifier: GPL-2.0
// Tests the Prometheus text writer: exact text for each metric type, escaping, number
// formatting, and the Error (with nothing written) for every invalid family.
#include <gtest/gtest.h>

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <string>

#include "output/exposition.h"

namespace tcpscope {
namespace {

std::string value_text(double v)
{
	std::string s;
	append_value(s, v);
	return s;
}

// The text of one family, or the error message prefixed with "error: ".
std::string render(const MetricFamily &f)
{
	Exposition e;
	if (auto err = e.add(f))
		return "error: " + err->message();
	return e.text();
}

TEST(Exposition, CounterWithoutLabels)
{
	MetricFamily f{"tcpscope_events_total",
		       "Events read from the ring buffer.",
		       MetricType::counter,
		       {{{}, 42.0}}};
	EXPECT_EQ(render(f), "# HELP tcpscope_events_total Events read from the ring buffer.\n"
			     "# TYPE tcpscope_events_total counter\n"
			     "tcpscope_events_total 42\n");
}

TEST(Exposition, GaugeWithLabels)
{
	MetricFamily f{"tcpscope_connections",
		       "Connections by state.",
		       MetricType::gauge,
		       {{{{"state", "ESTABLISHED"}, {"family", "ipv4"}}, 3.0},
			{{{"state", "TIME_WAIT"}, {"family", "ipv6"}}, 0.5}}};
	EXPECT_EQ(render(f), "# HELP tcpscope_connections Connections by state.\n"
			     "# TYPE tcpscope_connections gauge\n"
			     "tcpscope_connections{state=\"ESTABLISHED\",family=\"ipv4\"} 3\n"
			     "tcpscope_connections{state=\"TIME_WAIT\",family=\"ipv6\"} 0.5\n");
}

TEST(Exposition, FamilyWithoutSamplesKeepsHelpAndType)
{
	MetricFamily f{"tcpscope_lost_total", "Records lost.", MetricType::counter, {}};
	EXPECT_EQ(render(f), "# HELP tcpscope_lost_total Records lost.\n"
			     "# TYPE tcpscope_lost_total counter\n");
}

TEST(Exposition, Histogram)
{
	Histogram h{{0.001, 0.01, 0.1, 1}, {1, 3, 3, 7}, 2.5, 8};
	MetricFamily f{"tcpscope_time_wait_seconds",
		       "Time spent in TIME_WAIT.",
		       MetricType::histogram,
		       {{{}, h}}};
	EXPECT_EQ(render(f), "# HELP tcpscope_time_wait_seconds Time spent in TIME_WAIT.\n"
			     "# TYPE tcpscope_time_wait_seconds histogram\n"
			     "tcpscope_time_wait_seconds_bucket{le=\"0.001\"} 1\n"
			     "tcpscope_time_wait_seconds_bucket{le=\"0.01\"} 3\n"
			     "tcpscope_time_wait_seconds_bucket{le=\"0.1\"} 3\n"
			     "tcpscope_time_wait_seconds_bucket{le=\"1\"} 7\n"
			     "tcpscope_time_wait_seconds_bucket{le=\"+Inf\"} 8\n"
			     "tcpscope_time_wait_seconds_sum 2.5\n"
			     "tcpscope_time_wait_seconds_count 8\n");
}

// `stats --prometheus -c 2`: the second snapshot has no # HELP/# TYPE (promtool rejects a
// second HELP line for a name) and every sample carries its snapshot's time.
TEST(Exposition, SnapshotsWithTimestampsWriteMetadataOnce)
{
	Histogram h{{1}, {1}, 0.5, 2};
	MetricFamily c{"a_total", "A.", MetricType::counter, {{{}, 1.0}}};
	MetricFamily hf{"b_seconds", "B.", MetricType::histogram, {{{}, h}}};
	Exposition first, second;
	first.set_timestamp(1000);
	ASSERT_FALSE(first.add(c));
	ASSERT_FALSE(first.add(hf));
	second.set_timestamp(2000);
	second.set_metadata(false);
	ASSERT_FALSE(second.add(c));
	ASSERT_FALSE(second.add(hf));
	EXPECT_EQ(first.text() + second.text(), "# HELP a_total A.\n"
						"# TYPE a_total counter\n"
						"a_total 1 1000\n"
						"# HELP b_seconds B.\n"
						"# TYPE b_seconds histogram\n"
						"b_seconds_bucket{le=\"1\"} 1 1000\n"
						"b_seconds_bucket{le=\"+Inf\"} 2 1000\n"
						"b_seconds_sum 0.5 1000\n"
						"b_seconds_count 2 1000\n"
						"a_total 1 2000\n"
						"b_seconds_bucket{le=\"1\"} 1 2000\n"
						"b_seconds_bucket{le=\"+Inf\"} 2 2000\n"
						"b_seconds_sum 0.5 2000\n"
						"b_seconds_count 2 2000\n");
}

TEST(Exposition, HistogramWithLabelsPutsLeLast)
{
	Histogram a{{0.5}, {2}, 0.75, 2};
	Histogram b{{0.5}, {0}, 3, 1};
	MetricFamily f{"rtt_seconds",
		       "Round-trip time.",
		       MetricType::histogram,
		       {{{{"family", "ipv4"}}, a}, {{{"family", "ipv6"}}, b}}};
	EXPECT_EQ(render(f), "# HELP rtt_seconds Round-trip time.\n"
			     "# TYPE rtt_seconds histogram\n"
			     "rtt_seconds_bucket{family=\"ipv4\",le=\"0.5\"} 2\n"
			     "rtt_seconds_bucket{family=\"ipv4\",le=\"+Inf\"} 2\n"
			     "rtt_seconds_sum{family=\"ipv4\"} 0.75\n"
			     "rtt_seconds_count{family=\"ipv4\"} 2\n"
			     "rtt_seconds_bucket{family=\"ipv6\",le=\"0.5\"} 0\n"
			     "rtt_seconds_bucket{family=\"ipv6\",le=\"+Inf\"} 1\n"
			     "rtt_seconds_sum{family=\"ipv6\"} 3\n"
			     "rtt_seconds_count{family=\"ipv6\"} 1\n");
}

TEST(Exposition, HistogramWithOnlyTheInfBucket)
{
	MetricFamily f{"h_seconds", "H.", MetricType::histogram, {{{}, Histogram{{}, {}, 0, 0}}}};
	EXPECT_EQ(render(f), "# HELP h_seconds H.\n"
			     "# TYPE h_seconds histogram\n"
			     "h_seconds_bucket{le=\"+Inf\"} 0\n"
			     "h_seconds_sum 0\n"
			     "h_seconds_count 0\n");
}

TEST(Exposition, LabelValueEscaping)
{
	MetricFamily f{"g",
		       "G.",
		       MetricType::gauge,
		       {{{{"path", "C:\\dir\\\"x\"\nnext"}, {"utf8", "caf\xc3\xa9 \t{}=,"}}, 1.0}}};
	EXPECT_EQ(render(f),
		  "# HELP g G.\n"
		  "# TYPE g gauge\n"
		  "g{path=\"C:\\\\dir\\\\\\\"x\\\"\\nnext\",utf8=\"caf\xc3\xa9 \t{}=,\"} 1\n");
}

TEST(Exposition, EmptyLabelValue)
{
	MetricFamily f{"g", "G.", MetricType::gauge, {{{{"comm", ""}}, 1.0}}};
	EXPECT_EQ(render(f), "# HELP g G.\n# TYPE g gauge\ng{comm=\"\"} 1\n");
}

TEST(Exposition, HelpEscaping)
{
	// quotes stay as they are in HELP, only backslash and newline are escaped
	MetricFamily f{"g", "a \\ b\n\"c\"", MetricType::gauge, {{{}, 1.0}}};
	EXPECT_EQ(render(f), "# HELP g a \\\\ b\\n\"c\"\n"
			     "# TYPE g gauge\n"
			     "g 1\n");
}

TEST(Exposition, ValueFormatting)
{
	EXPECT_EQ(value_text(0), "0");
	EXPECT_EQ(value_text(-0.0), "0");
	EXPECT_EQ(value_text(1), "1");
	EXPECT_EQ(value_text(-1), "-1");
	EXPECT_EQ(value_text(1e6), "1000000");
	EXPECT_EQ(value_text(123456789012), "123456789012");
	EXPECT_EQ(value_text(9007199254740992.0), "9007199254740992"); // 2^53
	EXPECT_EQ(value_text(-9007199254740992.0), "-9007199254740992");
	EXPECT_EQ(value_text(1e16), "1e+16");
	EXPECT_EQ(value_text(1e21), "1e+21");
	EXPECT_EQ(value_text(0.1), "0.1");
	EXPECT_EQ(value_text(2.5), "2.5");
	EXPECT_EQ(value_text(0.005), "0.005");
	EXPECT_EQ(value_text(1.0 / 3), "0.3333333333333333");
	EXPECT_EQ(value_text(1e-5), "1e-05");
	EXPECT_EQ(value_text(-2.5e-7), "-2.5e-07");
	EXPECT_EQ(value_text(1.7976931348623157e308), "1.7976931348623157e+308");
	EXPECT_EQ(value_text(std::numeric_limits<double>::infinity()), "+Inf");
	EXPECT_EQ(value_text(-std::numeric_limits<double>::infinity()), "-Inf");
	EXPECT_EQ(value_text(std::nan("")), "NaN");
	EXPECT_EQ(value_text(-std::nan("")), "NaN");
}

TEST(Exposition, SpecialValuesInSamples)
{
	const double inf = std::numeric_limits<double>::infinity();
	MetricFamily f{
		"g",
		"G.",
		MetricType::gauge,
		{{{{"v", "nan"}}, std::nan("")}, {{{"v", "+inf"}}, inf}, {{{"v", "-inf"}}, -inf}}};
	EXPECT_EQ(render(f), "# HELP g G.\n"
			     "# TYPE g gauge\n"
			     "g{v=\"nan\"} NaN\n"
			     "g{v=\"+inf\"} +Inf\n"
			     "g{v=\"-inf\"} -Inf\n");
}

TEST(Exposition, FamiliesInOrderAdded)
{
	Exposition e;
	ASSERT_FALSE(e.add({"z_total", "Z.", MetricType::counter, {{{}, 1.0}}}));
	ASSERT_FALSE(e.add({"a", "A.", MetricType::gauge, {{{}, 2.0}}}));
	ASSERT_FALSE(e.add(
		{"m_seconds", "M.", MetricType::histogram, {{{}, Histogram{{1}, {1}, 0.5, 1}}}}));
	EXPECT_EQ(e.text(), "# HELP z_total Z.\n"
			    "# TYPE z_total counter\n"
			    "z_total 1\n"
			    "# HELP a A.\n"
			    "# TYPE a gauge\n"
			    "a 2\n"
			    "# HELP m_seconds M.\n"
			    "# TYPE m_seconds histogram\n"
			    "m_seconds_bucket{le=\"1\"} 1\n"
			    "m_seconds_bucket{le=\"+Inf\"} 1\n"
			    "m_seconds_sum 0.5\n"
			    "m_seconds_count 1\n");
	e.clear();
	EXPECT_EQ(e.text(), "");
	EXPECT_FALSE(e.add({"a", "A again.", MetricType::gauge, {}})); // names free after clear()
}

TEST(Exposition, NamesWithColonsAndUnderscores)
{
	EXPECT_TRUE(valid_metric_name("job:tcp_rtt:avg5m"));
	EXPECT_TRUE(valid_metric_name("_x"));
	EXPECT_TRUE(valid_metric_name(":x"));
	EXPECT_TRUE(valid_metric_name("A9"));
	EXPECT_TRUE(valid_label_name("_a9"));
	EXPECT_FALSE(valid_label_name("a:b"));
	EXPECT_FALSE(valid_label_name(""));
	EXPECT_FALSE(valid_metric_name(""));
}

// Each invalid family: the exact message, and nothing written.
struct BadFamily {
	const char *what;
	MetricFamily family;
	const char *detail; // after "failed to add metric '<name>': "
};

void PrintTo(const BadFamily &b, std::ostream *os)
{
	*os << b.what;
}

class ExpositionInvalid : public ::testing::TestWithParam<BadFamily> {};

TEST_P(ExpositionInvalid, ErrorAndNothingWritten)
{
	const BadFamily &b = GetParam();
	Exposition e;

	ASSERT_FALSE(e.add({"before", "Before.", MetricType::gauge, {{{}, 1.0}}}));
	const std::string before = e.text();
	auto err = e.add(b.family);
	ASSERT_TRUE(err.has_value()) << "accepted:\n" << e.text();
	EXPECT_EQ(err->err, 0);
	EXPECT_EQ(err->message(),
		  "failed to add metric '" + b.family.name + "': " + std::string(b.detail));
	EXPECT_EQ(e.text(), before);
}

const Histogram ok_hist{{1}, {0}, 0, 0};

INSTANTIATE_TEST_SUITE_P(
	Families, ExpositionInvalid,
	::testing::Values(
		BadFamily{"EmptyName",
			  {"", "H.", MetricType::gauge, {}},
			  "invalid metric name (must match "
			  "[a-zA-Z_:][a-zA-Z0-9_:]*)"},
		BadFamily{"LeadingDigit",
			  {"1abc", "H.", MetricType::gauge, {}},
			  "invalid metric name (must match "
			  "[a-zA-Z_:][a-zA-Z0-9_:]*)"},
		BadFamily{"Dash",
			  {"tcp-rtt", "H.", MetricType::gauge, {}},
			  "invalid metric name (must match "
			  "[a-zA-Z_:][a-zA-Z0-9_:]*)"},
		BadFamily{"Space",
			  {"a b", "H.", MetricType::gauge, {}},
			  "invalid metric name (must match "
			  "[a-zA-Z_:][a-zA-Z0-9_:]*)"},
		BadFamily{"NonAscii",
			  {"caf\xc3\xa9", "H.", MetricType::gauge, {}},
			  "invalid metric name (must match "
			  "[a-zA-Z_:][a-zA-Z0-9_:]*)"},
		BadFamily{"CounterWithoutTotal",
			  {"events", "H.", MetricType::counter, {}},
			  "counter names must end in _total"},
		BadFamily{"CounterNamedTotalOnly",
			  {"_total", "H.", MetricType::counter, {}},
			  "counter names must end in _total"},
		BadFamily{"CounterTotalNotSuffix",
			  {"total_events", "H.", MetricType::counter, {}},
			  "counter names must end in _total"},
		BadFamily{"NegativeCounter",
			  {"x_total", "H.", MetricType::counter, {{{{"a", "1"}}, -1.0}}},
			  "counter value must be >= 0 in {a=\"1\"}"},
		BadFamily{"NaNCounter",
			  {"x_total", "H.", MetricType::counter, {{{}, std::nan("")}}},
			  "counter value must be >= 0 in {}"},
		BadFamily{"EmptyHelp", {"g", "", MetricType::gauge, {}}, "empty help text"},
		BadFamily{"HelpNotUtf8",
			  {"g", "bad \xff", MetricType::gauge, {}},
			  "help text is not valid UTF-8"},
		BadFamily{"LabelLeadingDigit",
			  {"g", "H.", MetricType::gauge, {{{{"0a", "x"}}, 1.0}}},
			  "invalid label name '0a' (must match "
			  "[a-zA-Z_][a-zA-Z0-9_]*)"},
		BadFamily{"LabelColon",
			  {"g", "H.", MetricType::gauge, {{{{"a:b", "x"}}, 1.0}}},
			  "invalid label name 'a:b' (must match "
			  "[a-zA-Z_][a-zA-Z0-9_]*)"},
		BadFamily{"LabelEmpty",
			  {"g", "H.", MetricType::gauge, {{{{"", "x"}}, 1.0}}},
			  "invalid label name '' (must match "
			  "[a-zA-Z_][a-zA-Z0-9_]*)"},
		BadFamily{"LabelReserved",
			  {"g", "H.", MetricType::gauge, {{{{"__name__", "x"}}, 1.0}}},
			  "label name '__name__' is reserved (starts with __)"},
		BadFamily{"LabelRepeated",
			  {"g", "H.", MetricType::gauge, {{{{"a", "1"}, {"a", "2"}}, 1.0}}},
			  "label name 'a' repeated"},
		BadFamily{"LabelValueNotUtf8",
			  {"g", "H.", MetricType::gauge, {{{{"comm", "x\xc3("}}, 1.0}}},
			  "label 'comm' value is not valid UTF-8"},
		BadFamily{"LabelValueOverlongUtf8",
			  {"g", "H.", MetricType::gauge, {{{{"comm", "\xc0\xaf"}}, 1.0}}},
			  "label 'comm' value is not valid UTF-8"},
		BadFamily{"LabelValueSurrogate",
			  {"g", "H.", MetricType::gauge, {{{{"comm", "\xed\xa0\x80"}}, 1.0}}},
			  "label 'comm' value is not valid UTF-8"},
		BadFamily{"DuplicateLabelSet",
			  {"g",
			   "H.",
			   MetricType::gauge,
			   {{{{"a", "1"}, {"b", "2"}}, 1.0}, {{{"b", "2"}, {"a", "1"}}, 2.0}}},
			  "duplicate label set {b=\"2\",a=\"1\"}"},
		BadFamily{"DuplicateNoLabels",
			  {"g", "H.", MetricType::gauge, {{{}, 1.0}, {{}, 2.0}}},
			  "duplicate label set {}"},
		BadFamily{"DuplicateFamily",
			  {"before", "H.", MetricType::gauge, {}},
			  "name 'before' already in use by an earlier "
			  "family"},
		BadFamily{"HistogramLeLabel",
			  {"h", "H.", MetricType::histogram, {{{{"le", "1"}}, ok_hist}}},
			  "label name 'le' is reserved for histogram buckets"},
		BadFamily{
			"HistogramInfBound",
			{"h",
			 "H.",
			 MetricType::histogram,
			 {{{},
			   Histogram{{1, std::numeric_limits<double>::infinity()}, {0, 0}, 0, 0}}}},
			"bucket bounds must be finite (+Inf is implied) in {}"},
		BadFamily{"HistogramNaNBound",
			  {"h",
			   "H.",
			   MetricType::histogram,
			   {{{}, Histogram{{std::nan("")}, {0}, 0, 0}}}},
			  "bucket bounds must be finite (+Inf is implied) in {}"},
		BadFamily{
			"HistogramUnsortedBounds",
			{"h", "H.", MetricType::histogram, {{{}, Histogram{{1, 1}, {0, 0}, 0, 0}}}},
			"bucket bounds must be strictly increasing in {}"},
		BadFamily{
			"HistogramNotCumulative",
			{"h", "H.", MetricType::histogram, {{{}, Histogram{{1, 2}, {3, 2}, 0, 3}}}},
			"bucket counts must be cumulative (non-decreasing) "
			"in {}"},
		BadFamily{"HistogramCountTooSmall",
			  {"h", "H.", MetricType::histogram, {{{}, Histogram{{1}, {3}, 0, 2}}}},
			  "bucket counts exceed the total count in {}"},
		BadFamily{"HistogramSizeMismatch",
			  {"h",
			   "H.",
			   MetricType::histogram,
			   {{{{"a", "x"}}, Histogram{{1, 2}, {1}, 0, 1}}}},
			  "2 bucket bounds but 1 bucket counts in {a=\"x\"}"},
		BadFamily{"HistogramGivenDouble",
			  {"h", "H.", MetricType::histogram, {{{}, 1.0}}},
			  "histogram sample without a Histogram value"},
		BadFamily{"GaugeGivenHistogram",
			  {"g", "H.", MetricType::gauge, {{{}, ok_hist}}},
			  "Histogram value in a gauge"}),
	[](const ::testing::TestParamInfo<BadFamily> &info) {
		return std::string(info.param.what);
	});

TEST(Exposition, HistogramAfterGaugeOfItsSuffix)
{
	Exposition e;
	ASSERT_FALSE(e.add({"h_count", "H count.", MetricType::gauge, {}}));
	auto err = e.add({"h", "H.", MetricType::histogram, {}});
	ASSERT_TRUE(err);
	EXPECT_EQ(err->message(),
		  "failed to add metric 'h': name 'h_count' already in use by an earlier family");
}

TEST(Exposition, GaugeNamedLikeAHistogramSuffix)
{
	Exposition e;
	ASSERT_FALSE(e.add({"h", "H.", MetricType::histogram, {}}));
	auto err = e.add({"h_bucket", "H bucket.", MetricType::gauge, {}});
	ASSERT_TRUE(err);
	EXPECT_EQ(err->message(),
		  "failed to add metric 'h_bucket': name 'h_bucket' already in use by an earlier "
		  "family");
	EXPECT_FALSE(e.add({"h_buckets", "Not a suffix.", MetricType::gauge, {}}));
}

// Prometheus's own parser and linter, when installed (Debian: prometheus), reads every
// feature of the writer without a complaint.
TEST(ExpositionPromtool, CheckMetricsAcceptsOurOutput)
{
	if (access("/usr/bin/promtool", X_OK) != 0)
		GTEST_SKIP() << "promtool not installed (apt-get install prometheus)";

	const double inf = std::numeric_limits<double>::infinity();
	Exposition e;
	ASSERT_FALSE(e.add({"tcpscope_events_total",
			    "Events read from the ring buffer.",
			    MetricType::counter,
			    {{{}, 42.0}}}));
	ASSERT_FALSE(e.add({"tcpscope_transitions_total",
			    "Transitions by \"new\" state.\nA \\ backslash.",
			    MetricType::counter,
			    {{{{"state", "ESTABLISHED"}, {"comm", "a\"b\\c\nd caf\xc3\xa9"}}, 1e21},
			     {{{"state", "TIME_WAIT"}, {"comm", ""}}, 0.0}}}));
	ASSERT_FALSE(e.add({"tcpscope_connections",
			    "Open connections.",
			    MetricType::gauge,
			    {{{{"family", "ipv4"}}, 3.0},
			     {{{"family", "ipv6"}}, std::nan("")},
			     {{{"family", "x"}}, -inf},
			     {{{"family", "y"}}, 1e-7}}}));
	ASSERT_FALSE(e.add({"tcpscope_time_wait_duration_seconds",
			    "Time in TIME_WAIT.",
			    MetricType::histogram,
			    {{{{"family", "ipv4"}},
			      Histogram{{0.005, 0.5, 1, 60, 1e6}, {1, 2, 3, 4, 5}, 123.25, 6}},
			     {{}, Histogram{{}, {}, 0, 0}}}}));
	ASSERT_FALSE(e.add({"tcpscope_empty_total", "No samples yet.", MetricType::counter, {}}));

	char path[] = "/tmp/tcpscope-exposition-XXXXXX";
	int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, e.text().data(), e.text().size()), ssize_t(e.text().size()));
	close(fd);
	std::string cmd = std::string("/usr/bin/promtool check metrics < ") + path + " 2>&1";
	FILE *p = popen(cmd.c_str(), "r");
	ASSERT_NE(p, nullptr);
	std::string out;
	char buf[512];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		out.append(buf, n);
	int status = pclose(p);
	unlink(path);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(WEXITSTATUS(status), 0) << out << "\n" << e.text();
	EXPECT_EQ(out, "");
}

} // namespace
} // namespace tcpscope
