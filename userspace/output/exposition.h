// SPDX-License-Identifier: GPL-2.0
// Prometheus text exposition format 0.0.4: validated metric families rendered for a scrape.
// Invalid names or values are an Error, never a line Prometheus would reject.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "util/error.h"

namespace tcpscope {

enum class MetricType { counter, gauge, histogram };

// Rendered in the order given; "le" is the histogram's own, names starting "__" are reserved.
using Labels = std::vector<std::pair<std::string, std::string>>;

struct Histogram {
	std::vector<double> bounds;       // bucket upper bounds: finite, strictly increasing
	std::vector<uint64_t> cumulative; // observations <= bounds[i]; the +Inf bucket is count
	double sum = 0;
	uint64_t count = 0;
};

struct Sample {
	Labels labels;
	std::variant<double, Histogram> value; // Histogram for histograms, double otherwise
};

struct MetricFamily {
	std::string name; // counters end in _total, as the TYPE line names the sample
	std::string help; // required: every metric says what it counts
	MetricType type = MetricType::gauge;
	std::vector<Sample> samples;
};

class Exposition {
      public:
	static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

	// Validates the family and appends its # HELP, # TYPE and sample lines. On error
	// nothing is appended and the family's name stays free.
	Status add(const MetricFamily &f);
	const std::string &text() const { return text_; }
	void clear();

	// For several snapshots in one exposition (`stats --prometheus -c N`): every sample
	// line ends in this timestamp (milliseconds since the epoch), and a later snapshot
	// leaves out the # HELP and # TYPE lines the first one wrote.
	void set_timestamp(std::optional<int64_t> ms) { timestamp_ms_ = ms; }
	void set_metadata(bool on) { metadata_ = on; }

      private:
	std::string text_;
	std::optional<int64_t> timestamp_ms_;
	bool metadata_ = true;
	std::set<std::string, std::less<>> names_; // sample names in use, histogram suffixes too
};

// A float the way Prometheus clients write it: NaN, +Inf, -Inf, integers below 2^53 in
// full, anything else in the shortest form that reads back exactly.
void append_value(std::string &out, double v);

bool valid_metric_name(std::string_view name); // [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_label_name(std::string_view name);  // [a-zA-Z_][a-zA-Z0-9_]*

} // namespace tcpscope
