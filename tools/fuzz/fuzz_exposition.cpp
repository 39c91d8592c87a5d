// SPDX-License-Identifier: GPL-2.0
// libFuzzer harness: the Prometheus writer's label escaping and validation. Any names,
// label values and help text: what add() accepts renders as exactly the lines it promises
// (HELP, TYPE, one per sample), each value escaped so that no raw newline, quote or
// backslash ends it early.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "output/exposition.h"

namespace {

// The input split at NUL bytes: name, help, then label name/value pairs.
std::vector<std::string> split(const uint8_t *data, size_t size)
{
	std::vector<std::string> parts(1);
	for (size_t i = 0; i < size; i++) {
		if (data[i] == 0)
			parts.emplace_back();
		else
			parts.back() += char(data[i]);
	}
	return parts;
}

// A label value as the writer quotes it reads back to the original.
std::string unescape(std::string_view v)
{
	std::string out;
	for (size_t i = 0; i < v.size(); i++) {
		if (v[i] != '\\') {
			out += v[i];
			continue;
		}
		if (++i == v.size())
			abort();
		out += v[i] == 'n' ? '\n' : v[i];
	}
	return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace tcpscope;
	auto parts = split(data, size);
	if (parts.size() < 2)
		return 0;
	MetricFamily f;
	f.name = parts[0];
	f.help = parts[1];
	f.type = MetricType::gauge;
	Sample s;
	for (size_t i = 2; i + 1 < parts.size(); i += 2)
		s.labels.emplace_back(parts[i], parts[i + 1]);
	s.value = double(size);
	f.samples.push_back(s);

	Exposition e;
	if (e.add(f))
		return 0;
	const std::string &t = e.text();
	size_t lines = 0;
	for (char ch : t)
		lines += ch == '\n';
	if (lines != 3 || t.back() != '\n')
		abort();
	// the sample line: name{l="v",...} value, each value unescaping to the original
	std::string_view sample(t);
	sample.remove_prefix(t.find('\n', t.find('\n') + 1) + 1);
	if (sample.rfind(f.name, 0) != 0)
		abort();
	size_t pos = f.name.size();
	for (const auto &[k, v] : s.labels) {
		pos++; // '{' or ','
		if (sample.substr(pos, k.size() + 2) != k + "=\"")
			abort();
		pos += k.size() + 2;
		size_t end = pos;
		while (sample[end] != '"')
			end += sample[end] == '\\' ? 2 : 1;
		if (unescape(sample.substr(pos, end - pos)) != v)
			abort();
		pos = end + 1;
	}
	return 0;
}
