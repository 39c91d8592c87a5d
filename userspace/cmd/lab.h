// SPDX-License-Identifier: GPL-2.0
// `tcpscope lab`: list the experiments, run one (or all) and print each run's diagram or JSON.
#pragma once

#include "cli/options.h"

namespace tcpscope {

// Returns the process exit code: 0 when every run reached a verdict, 1 otherwise.
int run_lab(const LabOptions &opts);

} // namespace tcpscope
