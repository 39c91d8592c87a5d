// SPDX-License-Identifier: GPL-2.0
// Standard output for every command: whole writes or the errno that stopped them.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "util/error.h"

namespace tcpscope {

// Writes all of s to standard output, through EINTR and short writes: 0, or the errno of
// the write that failed (EPIPE when the reader went away). *written, when given, is how
// many bytes of s went out, all of them or those before the failure.
int write_stdout(std::string_view s, size_t *written = nullptr);

// What a failed write_stdout() means for a command: nullopt when the reader went away
// (EPIPE: `tcpscope watch | head` ends normally), else "failed to write standard output:
// <strerror>", a runtime failure (exit 1).
Status write_error(int err);

} // namespace tcpscope
