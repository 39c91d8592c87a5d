// SPDX-License-Identifier: GPL-2.0
// write_stdout(): the one EINTR and short-write loop of the agent.
#include "util/io.h"

#include <unistd.h>

#include <cerrno>

namespace tcpscope {

int write_stdout(std::string_view s)
{
	while (!s.empty()) {
		ssize_t n = write(STDOUT_FILENO, s.data(), s.size());
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		s.remove_prefix(size_t(n));
	}
	return 0;
}

} // namespace tcpscope
