// SPDX-License-Identifier: GPL-2.0
// libFuzzer harness: --netns (parse_netns). Inputs that name files are stat()ed and, when
// regular, opened read-only and asked NS_GET_NSTYPE: nothing is written or executed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cli/netns.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const std::string_view in(reinterpret_cast<const char *>(data), size);

	auto ns = tcpscope::parse_netns(in);
	if (ns) {
		if (*ns == 0)
			abort();
	} else if (ns.error().message().rfind("--netns: ", 0) != 0) {
		abort();
	}
	return 0;
}
