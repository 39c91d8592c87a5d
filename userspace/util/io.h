// SPDX-License-Identifier: GPL-2.0
// Standard output for every command: whole writes or the errno that stopped them.
#pragma once

#include <string_view>

namespace tcpscope {

// Writes all of s to standard output, through EINTR and short writes: 0, or the errno of
// the write that failed (EPIPE when the reader went away).
int write_stdout(std::string_view s);

} // namespace tcpscope
