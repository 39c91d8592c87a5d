// SPDX-License-Identifier: GPL-2.0
// Prometheus text format writer: everything is checked before a byte is appended, so a
// scrape never carries a line that would make Prometheus drop the whole target.
#include "output/exposition.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>

namespace tcpscope {

namespace {

bool name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	if (colon && c == ':')
		return true;
	return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view s, bool colon)
{
	if (s.empty())
		return false;
	for (size_t i = 0; i < s.size(); i++)
		if (!name_char(s[i], i == 0, colon))
			return false;
	return true;
}

// Prometheus rejects a scrape with invalid UTF-8 in label values or HELP.
bool valid_utf8(std::string_view s)
{
	size_t i = 0;

	while (i < s.size()) {
		unsigned char c = s[i];
		unsigned n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (s.size() - i <= n)
			return false;
		for (unsigned k = 1; k <= n; k++) {
			unsigned char cc = s[i + k];
			if ((cc & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (cc & 0x3f);
		}
		static constexpr uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
		if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

void append_escaped(std::string &out, std::string_view s, bool quote)
{
	for (char c : s) {
		if (c == '\\')
			out += "\\\\";
		else if (c == '\n')
			out += "\\n";
		else if (quote && c == '"')
			out += "\\\"";
		else
			out += c;
	}
}

// {a="x",b="y"} plus le when given; nothing at all without labels.
void append_labels(std::string &out, const Labels &labels, const std::string *le)
{
	if (labels.empty() && !le)
		return;
	out += '{';
	for (size_t i = 0; i < labels.size(); i++) {
		if (i)
			out += ',';
		out += labels[i].first;
		out += "=\"";
		append_escaped(out, labels[i].second, true);
		out += '"';
	}
	if (le) {
		if (!labels.empty())
			out += ',';
		out += "le=\"";
		out += *le;
		out += '"';
	}
	out += '}';
}

std::string_view type_name(MetricType t)
{
	switch (t) {
	case MetricType::counter:
		return "counter";
	case MetricType::gauge:
		return "gauge";
	case MetricType::histogram:
		return "histogram";
	}
	return "untyped";
}

std::string label_set(const Labels &labels)
{
	std::string s;
	append_labels(s, labels, nullptr);
	return s.empty() ? "{}" : s;
}

std::optional<std::string> check_labels(const Labels &labels, MetricType type)
{
	for (size_t i = 0; i < labels.size(); i++) {
		const std::string &n = labels[i].first;

		if (!valid_label_name(n))
			return "invalid label name '" + n + "' (must match [a-zA-Z_][a-zA-Z0-9_]*)";
		if (n.size() >= 2 && n[0] == '_' && n[1] == '_')
			return "label name '" + n + "' is reserved (starts with __)";
		if (type == MetricType::histogram && n == "le")
			return "label name 'le' is reserved for histogram buckets";
		for (size_t j = 0; j < i; j++)
			if (labels[j].first == n)
				return "label name '" + n + "' repeated";
		if (!valid_utf8(labels[i].second))
			return "label '" + n + "' value is not valid UTF-8";
	}
	return std::nullopt;
}

std::optional<std::string> check_histogram(const Histogram &h)
{
	if (h.cumulative.size() != h.bounds.size())
		return fmt::format("{} bucket bounds but {} bucket counts", h.bounds.size(),
				   h.cumulative.size());
	for (size_t i = 0; i < h.bounds.size(); i++) {
		if (!std::isfinite(h.bounds[i]))
			return "bucket bounds must be finite (+Inf is implied)";
		if (i && !(h.bounds[i] > h.bounds[i - 1]))
			return "bucket bounds must be strictly increasing";
		if (i && h.cumulative[i] < h.cumulative[i - 1])
			return "bucket counts must be cumulative (non-decreasing)";
	}
	if (!h.cumulative.empty() && h.cumulative.back() > h.count)
		return "bucket counts exceed the total count";
	return std::nullopt;
}

} // namespace

bool valid_metric_name(std::string_view name)
{
	return valid_name(name, true);
}

bool valid_label_name(std::string_view name)
{
	return valid_name(name, false);
}

void append_value(std::string &out, double v)
{
	if (std::isnan(v))
		out += "NaN";
	else if (std::isinf(v))
		out += v > 0 ? "+Inf" : "-Inf";
	else if (v == 0)
		out += '0'; // -0 too, as the Go client does
	else if (v == std::trunc(v) && std::fabs(v) <= 9007199254740992.0)
		fmt::format_to(std::back_inserter(out), "{:.0f}", v);
	else
		fmt::format_to(std::back_inserter(out), "{}", v);
}

Status Exposition::add(const MetricFamily &f)
{
	auto bad = [&](std::string detail) {
		return usage_error("add metric", "'" + f.name + "'", std::move(detail));
	};
	const bool hist = f.type == MetricType::histogram;

	if (!valid_metric_name(f.name))
		return bad("invalid metric name (must match [a-zA-Z_:][a-zA-Z0-9_:]*)");
	if (f.type == MetricType::counter && (f.name.size() <= 6 || !f.name.ends_with("_total")))
		return bad("counter names must end in _total");
	if (f.help.empty())
		return bad("empty help text");
	if (!valid_utf8(f.help))
		return bad("help text is not valid UTF-8");

	std::vector<std::string> names{f.name};
	if (hist)
		for (const char *suffix : {"_bucket", "_sum", "_count"})
			names.push_back(f.name + suffix);
	for (const auto &n : names)
		if (names_.count(n))
			return bad("name '" + n + "' already in use by an earlier family");

	std::set<std::string> seen;
	for (const Sample &s : f.samples) {
		if (hist != std::holds_alternative<Histogram>(s.value))
			return bad(hist ? "histogram sample without a Histogram value"
					: "Histogram value in a " + std::string(type_name(f.type)));
		if (auto why = check_labels(s.labels, f.type))
			return bad(*why);
		Labels sorted = s.labels;
		std::sort(sorted.begin(), sorted.end());
		if (!seen.insert(label_set(sorted)).second)
			return bad("duplicate label set " + label_set(s.labels));
		if (hist) {
			if (auto why = check_histogram(std::get<Histogram>(s.value)))
				return bad(*why + " in " + label_set(s.labels));
		} else if (f.type == MetricType::counter && !(std::get<double>(s.value) >= 0)) {
			return bad("counter value must be >= 0 in " + label_set(s.labels));
		}
	}

	std::string &out = text_;
	auto eol = [&] {
		if (timestamp_ms_)
			fmt::format_to(std::back_inserter(out), " {}", *timestamp_ms_);
		out += '\n';
	};
	if (metadata_) {
		out += "# HELP ";
		out += f.name;
		out += ' ';
		append_escaped(out, f.help, false);
		out += "\n# TYPE ";
		out += f.name;
		out += ' ';
		out += type_name(f.type);
		out += '\n';
	}
	for (const Sample &s : f.samples) {
		if (!hist) {
			out += f.name;
			append_labels(out, s.labels, nullptr);
			out += ' ';
			append_value(out, std::get<double>(s.value));
			eol();
			continue;
		}
		const Histogram &h = std::get<Histogram>(s.value);
		std::string le;
		for (size_t i = 0; i <= h.bounds.size(); i++) {
			le.clear();
			if (i < h.bounds.size())
				append_value(le, h.bounds[i]);
			else
				le = "+Inf";
			out += f.name;
			out += "_bucket";
			append_labels(out, s.labels, &le);
			fmt::format_to(std::back_inserter(out), " {}",
				       i < h.bounds.size() ? h.cumulative[i] : h.count);
			eol();
		}
		out += f.name;
		out += "_sum";
		append_labels(out, s.labels, nullptr);
		out += ' ';
		append_value(out, h.sum);
		eol();
		out += f.name;
		out += "_count";
		append_labels(out, s.labels, nullptr);
		fmt::format_to(std::back_inserter(out), " {}", h.count);
		eol();
	}
	names_.insert(names.begin(), names.end());
	return std::nullopt;
}

void Exposition::clear()
{
	text_.clear();
	names_.clear();
}

} // namespace tcpscope
