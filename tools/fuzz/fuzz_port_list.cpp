// SPDX-License-Identifier: GPL-2.0
// libFuzzer harness: -L/-D port lists (parse_ports) and single ports (parse_port).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cli/port_list.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view in(reinterpret_cast<const char *>(data), size);

	auto set = tcpscope::parse_ports(in);
	if (set) {
		if (set->test(0) || set->none())
			abort(); // port 0 is never selected, an accepted list selects something
	} else if (set.error().message().empty()) {
		abort();
	}
	auto port = tcpscope::parse_port(in);
	if (port && (*port == 0 || in.size() > 5))
		abort();
	return 0;
}
