// SPDX-License-Identifier: GPL-2.0
// write_stdout(): the one EINTR and short-write loop of the agent.
#include "util/io.h"

#include <unistd.h>

#include <cerrno>

namespace tcpscope {

int write_stdout(std::string_view s, size_t *written)
{
	size_t done = 0;
	int err = 0;

	while (done < s.size()) {
		ssize_t n = write(STDOUT_FILENO, s.data() + done, s.size() - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = errno;
			break;
		}
		done += size_t(n);
	}
	if (written)
		*written = done;
	return err;
}

Status write_error(int err)
{
	if (!err || err == EPIPE)
		return std::nullopt;
	return sys_error("write", "standard output", err);
}

} // namespace tcpscope
