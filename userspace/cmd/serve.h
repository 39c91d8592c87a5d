// SPDX-License-Identifier: GPL-2.0
// `tcpscope serve`: the in-kernel aggregates as a Prometheus exporter (/metrics, /healthz).
#pragma once

#include "cli/options.h"

namespace tcpscope {

// Binds first (a bad address or a port in use changes nothing), then attaches and serves
// until SIGINT/SIGTERM. Returns the process exit code.
int run_serve(const ServeOptions &opts);

} // namespace tcpscope
