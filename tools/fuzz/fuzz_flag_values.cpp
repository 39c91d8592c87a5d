// SPDX-License-Identifier: GPL-2.0
// libFuzzer harness: the values of the other flags: --state names (parse_state), counts
// (parse_count) and seconds (parse_seconds), each in the range it promises.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cli/options.h"
#include "event/states.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view in(reinterpret_cast<const char *>(data), size);

	auto st = tcpscope::parse_state(in);
	if (st && (*st < 1 || *st > 11 || tcpscope::state_name(*st).empty()))
		abort();
	auto n = tcpscope::parse_count("--count", in, 1, 4194304);
	if (n && (*n < 1 || *n > 4194304))
		abort();
	auto s = tcpscope::parse_seconds("--interval", in, 0.1, 3600);
	if (s && !(*s >= 0.1 && *s <= 3600))
		abort();
	auto d = tcpscope::parse_seconds("--duration", in, 0, 1e9);
	if (d && !(*d > 0 && *d <= 1e9 && std::isfinite(*d)))
		abort();
	return 0;
}
