// SPDX-License-Identifier: GPL-2.0
// libFuzzer harness: ring buffer records (and the start-up walk's snapshot records) as the
// kernel side could send them, any bytes: decode(), both views of the fold, watch's
// filters, and every output format. Each format
// writes exactly one line per event; CSV and JSON stay printable ASCII.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "event/fold.h"
#include "event/record.h"
#include "output/event_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using namespace tcpscope;
	// an aligned copy, as the ring buffer hands samples over 8-byte aligned; any size up to
	// past the longest record (a SockEvent)
	alignas(8) uint8_t copy[sizeof(SockEvent) + 32];
	if (size > sizeof(copy))
		return 0;
	std::memcpy(copy, data, size);
	const RawEvent *e = decode(copy, size);
	if (!e)
		return 0;

	Clock clocks[2];
	clocks[1].wall = true;
	clocks[1].realtime_off = int64_t(1700000000) * 1000000000;
	for (View v : {View::lifecycle, View::raw}) {
		auto f = fold(*e, v);
		if (!f)
			continue;
		for (unsigned s = 0; s < 13; s++)
			(void)EventFilter{s, (s & 1) != 0}.wants(*f);
		for (const Clock &c : clocks) {
			for (OutputFormat of :
			     {OutputFormat::text, OutputFormat::json, OutputFormat::csv}) {
				auto fmt = make_formatter(of, c);
				fmt::memory_buffer out;
				fmt->event(*f, out);
				std::string_view line(out.data(), out.size());
				if (line.empty() || line.back() != '\n' ||
				    line.find('\n') != line.size() - 1)
					abort();
				if (of == OutputFormat::text)
					continue;
				for (char ch : line.substr(0, line.size() - 1))
					if (ch < 0x20 || ch > 0x7e)
						abort();
			}
		}
	}
	return 0;
}
