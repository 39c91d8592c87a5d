// SPDX-License-Identifier: GPL-2.0
// libFuzzer harness: an HTTP request as `serve` reads it (head_end(), then parse_head()), fed
// in pieces the way recv() may hand them over.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/http_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	using tcpscope::Request;
	const std::string_view in(reinterpret_cast<const char *>(data), size);
	std::string buf;
	size_t end = std::string_view::npos;

	// the first byte picks the piece size, as the server appends and searches again
	size_t piece = size ? 1 + data[0] % 64 : 1;
	for (size_t off = 0; off < in.size() && end == std::string_view::npos; off += piece) {
		size_t from = buf.size() >= 3 ? buf.size() - 3 : 0;
		buf.append(in.substr(off, piece));
		end = tcpscope::head_end(buf, from);
	}
	if (end == std::string_view::npos)
		end = buf.size(); // a head cut short: parse what came
	if (end > buf.size())
		abort();
	Request req;
	int status = tcpscope::parse_head(std::string_view(buf).substr(0, end), req);
	if (status != 0 && status != 400 && status != 505)
		abort();
	if (status == 0 && (req.path.empty() || req.path[0] != '/' || req.method.empty()))
		abort();
	return 0;
}
