// SPDX-License-Identifier: GPL-2.0
// `tcpscope lab`: the runs are userspace/lab/'s; this prints them and writes the files asked.
#include "cmd/lab.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "lab/render.h"
#include "lab/run.h"
#include "util/fd.h"
#include "util/io.h"
#include "util/signals.h"

namespace tcpscope {

namespace {

Result<bool> write_file(const std::string &path, const std::string &data)
{
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
	if (!fd)
		return sys_error("open", path, errno);
	for (size_t off = 0; off < data.size();) {
		ssize_t n = write(fd.get(), data.data() + off, data.size() - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sys_error("write", path, errno);
		off += size_t(n);
	}
	return true;
}

} // namespace

int run_lab(const LabOptions &o)
{
	signal(SIGPIPE, SIG_IGN);
	if (auto bad = lab::check_names(o.name, o.variant)) {
		fprintf(stderr,
			"tcpscope: lab: %s\nRun 'tcpscope lab --help' for "
			"usage.\n",
			bad->c_str());
		return 2;
	}
	if (o.name == "list") {
		write_stdout(o.json ? lab::render_list_json() : lab::render_list_text());
		return 0;
	}
	std::vector<std::pair<const lab::Experiment *, const lab::Variant *>> runs;
	if (o.name == "all") {
		for (const auto &e : lab::catalog())
			for (const auto &v : e.variants)
				runs.push_back({&e, &v});
	} else {
		const lab::Experiment *e = lab::find_experiment(o.name);
		if (o.variant == "list") {
			write_stdout(lab::render_variants(*e));
			return 0;
		}
		runs.push_back({e, o.variant.empty() ? &e->variants[0]
						     : lab::find_variant(*e, o.variant)});
	}

	auto stop = SignalFd::stop_signals();
	if (!stop)
		return print_error(stop.error());
	auto lab = lab::Lab::open(*stop, o.verbose);
	if (!lab)
		return print_error(lab.error());
	int rc = 0;
	for (auto [e, v] : runs) {
		auto r = (*lab)->run(*e, *v, o.long_runs);
		if (!r) {
			print_error(r.error());
			if (r.error().err == EINTR)
				return 1;
			rc = 1;
			continue;
		}
		std::string out = o.json ? lab::render_json(*e, r->trace, r->verdict)
					 : lab::render_text(*e, r->trace, r->verdict);
		if (!o.json && runs.size() > 1)
			out += "\n";
		if (write_stdout(out))
			return rc;
		if (r->failed)
			rc = print_error(*r->failed);
		if (!o.svg.empty())
			if (auto w = write_file(o.svg, lab::render_svg(*e, r->trace, r->verdict));
			    !w)
				rc = print_error(w.error());
		if (!o.pcap.empty())
			if (auto w = write_file(o.pcap, lab::render_pcap(r->trace)); !w)
				rc = print_error(w.error());
	}
	return rc;
}

} // namespace tcpscope
