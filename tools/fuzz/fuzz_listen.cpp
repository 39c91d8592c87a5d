// SPDX-License-Identifier: GPL-2.0
// libFuzzer harness: serve's --listen (parse_listen); an accepted address prints back as
// text that parses to the same address.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/listen_addr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view in(reinterpret_cast<const char *>(data), size);

	auto a = tcpscope::parse_listen(in);
	if (!a) {
		if (a.error().message().rfind("--listen: ", 0) != 0)
			abort();
		return 0;
	}
	if (a->port == 0 || (a->family != 2 && a->family != 10))
		abort(); // AF_INET, AF_INET6
	auto b = tcpscope::parse_listen(a->str());
	if (!b || b->family != a->family || b->addr != a->addr || b->port != a->port)
		abort();
	return 0;
}
