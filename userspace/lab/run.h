// SPDX-License-Identifier: GPL-2.0
// Running experiments: one tracer (tcpscope's own, for both namespaces' transitions) shared by
// every run; per run a fresh topology, the tap, the driver's steps, the counters before and
// after, then the verdict.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lab/catalog.h"
#include "lab/trace.h"
#include "lab/verdict.h"
#include "util/error.h"

namespace tcpscope {
class Tracer;
class SignalFd;
} // namespace tcpscope

namespace tcpscope::lab {

class Steps;

struct RunResult {
	Trace trace;
	Verdict verdict;
	// a step's condition not met within its bound: what was recorded until then is in
	// the trace, the verdict is skipped with this as the reason
	Status failed;
};

class Lab {
      public:
	// Loads the tracer; `stop` ends a run early (Ctrl-C): its namespaces go with it.
	[[nodiscard]] static Result<std::unique_ptr<Lab>> open(const SignalFd &stop, bool verbose);
	~Lab();
	Lab(const Lab &) = delete;
	Lab &operator=(const Lab &) = delete;

	// long_runs: the real 60 s and longer timers (--long)
	// A run whose record the tracer left incomplete (events lost, program runs skipped by
	// the kernel), or whose set-up lost a race (Steps::not_set_up), is run once more; if
	// that one is incomplete too, its verdict is skipped.
	Result<RunResult> run(const Experiment &e, const Variant &v, bool long_runs);
	// the tracer's degraded features, in words (each run's notes carry them too)
	const std::vector<std::string> &degraded() const { return degraded_; }

      private:
	explicit Lab(const SignalFd &stop);
	Result<RunResult> run_once(const Experiment &e, const Variant &v, bool long_runs,
				   bool &incomplete);
	const SignalFd &stop_;
	std::unique_ptr<Tracer> tracer_;
	std::vector<std::string> degraded_;
	Steps *cur_ = nullptr;         // the run the tracer's events go to
	std::deque<uint32_t> allowed_; // namespaces the tracer follows, oldest first
};

} // namespace tcpscope::lab
