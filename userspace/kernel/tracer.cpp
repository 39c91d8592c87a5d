// SPDX-License-Identifier: GPL-2.0
// Hook selection, load and attach of tcpscope.bpf.c. Each feature lists its candidate
// programs best first; the first whose target the kernel has is kept, the rest are not
// loaded. Features nothing can serve are reported, never silently dropped.
#include "kernel/tracer.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>

#include "kernel/features.h"
#include "kernel/netns.h"
#include "util/fd.h"
#include "tcpscope.skel.h"

namespace tcpscope {

namespace {

enum class Kind { tp_btf, sockops };

struct Candidate {
	Kind kind;
	std::string target;             // tracepoint name (sockops: none)
	std::vector<std::string> progs; // all of them are attached together
};

// One capability of tcpscope and the hooks that can provide it, best first.
struct Feature {
	std::string name;
	std::string impact; // what users lose without it
	bool required;
	std::vector<Candidate> candidates;
};

std::vector<Feature> features()
{
	using K = Kind;
	return {
		// tp_btf (5.5) predates the ring buffer (5.8) tcpscope needs anyway.
		{"state transitions",
		 "",
		 true,
		 {{K::tp_btf, "inet_sock_set_state", {"handle_set_state"}}}},
		{"timers",
		 "no TIME_WAIT entry/exit and no keepalive probe events",
		 false,
		 {{K::tp_btf,
		   "timer_start",
		   {"handle_timer_start", "handle_timer_cancel", "handle_timer_expire",
		    "handle_timer_expire_exit"}}}},
		{"RST received",
		 "close=rst_received not detected",
		 false,
		 {{K::tp_btf, "tcp_receive_reset", {"handle_rst_rcvd"}}}},
		{"RST sent",
		 "close=rst_sent not detected",
		 false,
		 {{K::tp_btf, "tcp_send_reset", {"handle_rst_sent"}}}},
		{"socket destruction",
		 "summaries only for connections that went through TIME_WAIT",
		 false,
		 {{K::tp_btf, "tcp_destroy_sock", {"handle_destroy"}}}},
		{"segment facts (sockops)",
		 "three-way closes reported as active_4way; SYN_SENT reported at the next event",
		 false,
		 {{K::sockops, "", {"handle_sockops"}}}},
	};
}

const char *kind_name(Kind k)
{
	switch (k) {
	case Kind::tp_btf:
		return "tp_btf";
	case Kind::sockops:
		return "sockops";
	}
	return "?";
}

bool available(KernelFeatures &k, const Candidate &c)
{
	switch (c.kind) {
	case Kind::tp_btf:
		return k.btf_tracepoint(c.target);
	case Kind::sockops:
		return !KernelFeatures::cgroup2_root().empty();
	}
	return false;
}

// 0, or the negative errno of the update.
int fill_ports(struct bpf_map *map, uint32_t slot, const PortSet &set)
{
	std::vector<uint64_t> bits(65536 / 64, 0);
	for (size_t p = 0; p < set.size(); p++)
		if (set.test(p))
			bits[p / 64] |= 1ULL << (p % 64);
	return bpf_map__update_elem(map, &slot, sizeof(slot), bits.data(), bits.size() * 8,
				    BPF_ANY);
}

bool verbose_libbpf;

int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level; // even warnings stay behind -v
	return verbose_libbpf ? vfprintf(stderr, fmt, args) : 0;
}

} // namespace

namespace {

// Runs the socket iterator once from inside the namespace of ns_fd (the tcp iterator
// walks the namespace of the process that creates it); what it writes is appended to *out.
int walk_in_netns(int link_fd, int ns_fd, std::vector<char> *out = nullptr)
{
	return run_in_netns(ns_fd, [link_fd, out] {
		UniqueFd it(bpf_iter_create(link_fd));
		if (!it)
			return errno;
		// large reads: bpf_seq_read() stops its walk once a read's worth is written
		char buf[64 << 10];
		ssize_t n;
		while ((n = read(it.get(), buf, sizeof(buf))) > 0)
			if (out)
				out->insert(out->end(), buf, buf + n);
		return n < 0 ? errno : 0;
	});
}

// The cookie of the namespace whose inode is ino (SO_NETNS_COOKIE of a socket made in it;
// 0: not found or not supported). Unlike the inode number, which the kernel hands to a new
// namespace once this one is gone, a cookie is never reused.
uint64_t netns_cookie_of(ino_t ino)
{
	const auto all = all_netns();
	const auto it = all.find(ino);
	if (it == all.end())
		return 0;
	UniqueFd ns(open(it->second.c_str(), O_RDONLY | O_CLOEXEC));
	if (!ns)
		return 0;
	uint64_t cookie = 0;
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif
	run_in_netns(ns.get(), [&] {
		UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
		uint64_t v = 0;
		socklen_t len = sizeof(v);
		if (!s || getsockopt(s.get(), SOL_SOCKET, SO_NETNS_COOKIE, &v, &len) ||
		    len != sizeof(v))
			return errno ? errno : EINVAL;
		cookie = v;
		return 0;
	});
	return cookie;
}

// The timewait table holds every timewait socket of the namespace with the largest
// tcp_max_tw_buckets now (the kernel keeps no more), within bounds: preallocated, about 90
// bytes an entry. A namespace raised later, or several full at once, can fill it: counted.
constexpr uint64_t kMinTimewait = 65536, kMaxTimewait = 1u << 20;

uint64_t timewait_capacity()
{
	uint64_t most = 0;
	for (const auto &[ino, v] : NetnsSysctl("net/ipv4/tcp_max_tw_buckets").read({}))
		if (v > 0)
			most = std::max(most, static_cast<uint64_t>(v));
	return std::clamp(most, kMinTimewait, kMaxTimewait);
}

// TCPSCOPE_TEST_MAP_SIZES="map=entries,..." (tests only, Documentation/tcpscope/testing.rst):
// tables made small on purpose, so that the tests can fill them.
Result<bool> set_test_map_sizes(struct bpf_object *obj, const std::string &spec,
				std::vector<std::string> &log)
{
	size_t pos = 0;
	while (pos < spec.size()) {
		size_t comma = spec.find(',', pos);
		std::string item =
			spec.substr(pos, comma == std::string::npos ? comma : comma - pos);
		pos = comma == std::string::npos ? spec.size() : comma + 1;
		size_t eq = item.find('=');
		char *end = nullptr;
		unsigned long n =
			eq == std::string::npos ? 0 : strtoul(item.c_str() + eq + 1, &end, 10);
		if (eq == std::string::npos || !end || *end || !n || n > (1ul << 30))
			return usage_error("parse", "TCPSCOPE_TEST_MAP_SIZES",
					   "want map=entries[,map=entries...], got '" + item + "'");
		std::string name = item.substr(0, eq);
		struct bpf_map *map = bpf_object__find_map_by_name(obj, name.c_str());
		if (!map)
			return usage_error("parse", "TCPSCOPE_TEST_MAP_SIZES",
					   "no map '" + name + "'");
		if (int err = bpf_map__set_max_entries(map, n))
			return sys_error("size BPF map", name, -err);
		log.push_back("map " + name + ": " + std::to_string(n) +
			      " entries (TCPSCOPE_TEST_MAP_SIZES)");
	}
	return true;
}

} // namespace

void report_degraded(const std::vector<Degraded> &degraded)
{
	for (const auto &d : degraded)
		fprintf(stderr, "tcpscope: degraded: %s unavailable on this kernel: %s\n",
			d.feature.c_str(), d.impact.c_str());
}

void set_libbpf_verbose(bool verbose)
{
	verbose_libbpf = verbose;
	libbpf_set_print(libbpf_log);
}

Result<std::unique_ptr<Tracer>> Tracer::open(const TracerConfig &cfg, Sink sink,
					     std::vector<std::string> &log,
					     std::vector<Degraded> &degraded)
{
	std::unique_ptr<Tracer> t(new Tracer());
	KernelFeatures kernel;
	struct bpf_program *prog;
	int err;

	t->sink_ = std::move(sink);
	if (!kernel.has_btf())
		return sys_error("read kernel BTF", "/sys/kernel/btf/vmlinux", ENOENT);

	t->skel_ = tcpscope_bpf__open();
	if (!t->skel_)
		return sys_error("open BPF object", "tcpscope", errno);

	// Everything off; chosen candidates are switched back on.
	bpf_object__for_each_program(prog, t->skel_->obj) bpf_program__set_autoload(prog, false);

	std::vector<std::string> chosen;
	for (const auto &f : features()) {
		const Candidate *pick = nullptr;
		for (const auto &c : f.candidates)
			if (available(kernel, c)) {
				pick = &c;
				break;
			}
		if (!pick) {
			if (f.required)
				return usage_error("find a hook for", f.name,
						   "the kernel's BTF has no tracepoint "
						   "sock:inet_sock_set_state");
			degraded.push_back({f.name, f.impact});
			continue;
		}
		log.push_back(f.name + ": " + kind_name(pick->kind) + "/" + pick->target);
		for (const auto &name : pick->progs) {
			prog = bpf_object__find_program_by_name(t->skel_->obj, name.c_str());
			if (!prog)
				return sys_error("find BPF program", name, ENOENT);
			bpf_program__set_autoload(prog, true);
			chosen.push_back(name);
		}
	}

	auto *ro = t->skel_->rodata;
	ro->emit_events = cfg.events;
	ro->aggregate = cfg.aggregate;
	ro->snapshot = cfg.snapshot;
	t->aggregate_ = cfg.aggregate;
	t->netns_ = cfg.netns;
	if (!cfg.events) // nothing is reserved on it: the smallest ring (one page)
		bpf_map__set_max_entries(t->skel_->maps.events, getpagesize());
	const bool walks = (cfg.aggregate || cfg.snapshot) && kernel.iter_loads("tcp");
	if ((cfg.aggregate || cfg.snapshot) && !walks)
		degraded.push_back({"socket walks (iter/tcp)",
				    cfg.aggregate ? "the kernel refused the program: gauges count "
						    "only sockets that change state, and a missed "
						    "change is not put right"
						  : "the kernel refused the program: no snapshot"});
	bpf_program__set_autoload(t->skel_->progs.seed_sockets, walks);
	bpf_program__set_autoload(t->skel_->progs.recount_sockets, walks && cfg.aggregate);
	// make bench's "hooks" configuration (Documentation/perf.rst): the programs are
	// attached as usual but return at once, so nothing is counted or shown.
	if (const char *h = getenv("TCPSCOPE_BENCH_HOOKS_ONLY"); h && *h && strcmp(h, "0") != 0) {
		ro->hooks_only = true;
		fprintf(stderr, "tcpscope: TCPSCOPE_BENCH_HOOKS_ONLY is set (benchmarks only): the "
				"programs return at once, nothing is counted or shown\n");
	}
	ro->filter_family = cfg.family;
	ro->filter_netns = cfg.netns;
	ro->filter_netns_map = cfg.netns_allow;
	if (cfg.netns)
		ro->filter_netns_cookie = netns_cookie_of(cfg.netns);
	ro->filter_pid = cfg.pid;
	ro->filter_lports = cfg.lports.has_value();
	ro->filter_dports = cfg.dports.has_value();

	// The timer tracepoints are matched against timer callbacks by address.
	const auto syms = KernelFeatures::ksyms({"tw_timer_handler", "tcp_keepalive_timer"});
	auto sym = [&](const std::string &name) -> const uint64_t * {
		auto it = syms.find(name);
		return it == syms.end() ? nullptr : &it->second;
	};
	auto *tw_fn = sym("tw_timer_handler");
	auto *ka_fn = sym("tcp_keepalive_timer");
	if (!tw_fn)
		degraded.push_back({"TIME_WAIT", "tw_timer_handler not in /proc/kallsyms "
						 "(kptr_restrict?): no TIME_WAIT entry/exit"});
	if (!ka_fn)
		degraded.push_back(
			{"keepalive probes", "tcp_keepalive_timer not in /proc/kallsyms"});
	ro->tw_timer_fn = tw_fn ? *tw_fn : 0;
	ro->keepalive_timer_fn = ka_fn ? *ka_fn : 0;
	// TCP_TIMEWAIT_LEN is 60 * HZ jiffies: needed to date a late FIN_WAIT2 -> TIME_WAIT
	auto hz = KernelFeatures::config_hz();
	if (!hz)
		log.push_back("CONFIG_HZ unknown (no kernel config): assuming 250");
	ro->ns_per_jiffy = 1000000000ull / hz.value_or(250);
	ro->nr_cpus = std::max(libbpf_num_possible_cpus(), 1);

	const uint64_t tw_entries = timewait_capacity();
	bpf_map__set_max_entries(t->skel_->maps.twctxs, tw_entries);
	log.push_back("timewait table: " + std::to_string(tw_entries) +
		      " entries (the largest tcp_max_tw_buckets, within " +
		      std::to_string(kMinTimewait) + ".." + std::to_string(kMaxTimewait) + ")");
	if (const char *m = getenv("TCPSCOPE_TEST_MAP_SIZES"); m && *m) {
		fprintf(stderr, "tcpscope: TCPSCOPE_TEST_MAP_SIZES is set (tests only): tables "
				"made small on purpose\n");
		if (auto r = set_test_map_sizes(t->skel_->obj, m, log); !r)
			return r.error();
	}

	if (const char *d = getenv("TCPSCOPE_TEST_DROP_TW_EXITS"); d && *d) {
		char *end = nullptr;
		errno = 0;
		unsigned long n = strtoul(d, &end, 10);
		if (errno || !end || *end || n < 1 || n > 1000000)
			return usage_error(
				"parse", "TCPSCOPE_TEST_DROP_TW_EXITS",
				std::string("want N (every Nth timewait exit, 1..1000000), "
					    "got '") +
					d + "'");
		fprintf(stderr,
			"tcpscope: TCPSCOPE_TEST_DROP_TW_EXITS is set (tests only): every "
			"%lu%s timewait exit is dropped on purpose\n",
			n, n == 1 ? "" : "th");
		ro->test_drop_tw_exits = uint32_t(n);
	}

	kernel.release_btf(); // libbpf loads its own copy now
	err = tcpscope_bpf__load(t->skel_);
	if (err)
		return Error{"load BPF programs", "", -err,
			     err == -EPERM ? "tcpscope needs root (the capabilities it uses: "
					     "Documentation/tcpscope/deploy.rst)"
					   : "run with -v for libbpf's log"};
	malloc_trim(0); // the BTF libbpf parsed for CO-RE is freed: give it back
	// an unfilled slot would match no port at all: the filter must be there or nothing runs
	if (cfg.lports && (err = fill_ports(t->skel_->maps.ports, 0, *cfg.lports)))
		return sys_error("fill BPF map", "ports (-L)", err);
	if (cfg.dports && (err = fill_ports(t->skel_->maps.ports, 1, *cfg.dports)))
		return sys_error("fill BPF map", "ports (-D)", err);

	for (const auto &name : chosen) {
		prog = bpf_object__find_program_by_name(t->skel_->obj, name.c_str());
		if (!bpf_program__autoload(prog))
			continue;
		struct bpf_link *link;
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SOCK_OPS) {
			std::string root = KernelFeatures::cgroup2_root();
			UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
			link = fd ? bpf_program__attach_cgroup(prog, fd.get()) : nullptr;
		} else {
			link = bpf_program__attach(prog);
		}
		if (!link) {
			err = errno;
			if (name == "handle_set_state")
				return sys_error("attach BPF program", name, err);
			degraded.push_back({name, std::string("attach failed: ") + strerror(err)});
			continue;
		}
		t->links_.push_back(link);
	}

	if (bpf_program__fd(t->skel_->progs.seed_sockets) >= 0) { // loaded: walks wanted, possible
		t->seed_link_ = bpf_program__attach_iter(t->skel_->progs.seed_sockets, nullptr);
		if (!t->seed_link_)
			degraded.push_back({"socket walk (iter/tcp)",
					    std::string("attach failed: ") + strerror(errno) +
						    (cfg.aggregate ? ": gauges count only sockets "
								     "that change state"
								   : ": no snapshot")});
	}
	if (bpf_program__fd(t->skel_->progs.recount_sockets) >= 0) {
		t->recount_link_ =
			bpf_program__attach_iter(t->skel_->progs.recount_sockets, nullptr);
		if (!t->recount_link_)
			degraded.push_back({"timewait recount (iter/tcp)",
					    std::string("attach failed: ") + strerror(errno) +
						    ": a late FIN_WAIT2 -> TIME_WAIT is counted "
						    "when the socket leaves"});
	}
	t->rb_ = ring_buffer__new(bpf_map__fd(t->skel_->maps.events), on_sample, t.get(), nullptr);
	if (!t->rb_)
		return sys_error("create ring buffer", "events", errno);
	return t;
}

Tracer::~Tracer()
{
	bpf_link__destroy(recount_link_);
	bpf_link__destroy(seed_link_);
	ring_buffer__free(rb_);
	for (auto *l : links_)
		bpf_link__destroy(l);
	tcpscope_bpf__destroy(skel_);
}

int Tracer::on_sample(void *ctx, void *data, size_t size)
{
	auto *self = static_cast<Tracer *>(ctx);
	const RawEvent *e = decode(data, size);

	return e ? self->sink_(*e) : 0;
}

int Tracer::poll(int timeout_ms)
{
	int n = ring_buffer__poll(rb_, timeout_ms);
	if (n < 0)
		return n;
	// records queued without a wakeup (BPF_RB_NO_WAKEUP below the batch size)
	int m = ring_buffer__consume(rb_);
	return m < 0 ? m : n + m;
}

int Tracer::consume()
{
	return ring_buffer__consume(rb_);
}

int Tracer::allow_netns(uint32_t inode, bool allow)
{
	const __u8 one = 1;
	if (allow)
		return bpf_map__update_elem(skel_->maps.netns_allow, &inode, sizeof(inode), &one,
					    sizeof(one), BPF_ANY);
	return bpf_map__delete_elem(skel_->maps.netns_allow, &inode, sizeof(inode), 0);
}

KernelCounters Tracer::counters() const
{
	int ncpu = libbpf_num_possible_cpus();
	std::vector<uint64_t> vals(ncpu > 0 ? ncpu : 1);
	uint64_t sum[TCPSCOPE_CNT_MAX] = {};

	for (uint32_t i = 0; i < TCPSCOPE_CNT_MAX; i++) {
		if (bpf_map__lookup_elem(skel_->maps.counters, &i, sizeof(i), vals.data(),
					 vals.size() * sizeof(uint64_t), 0))
			continue;
		for (auto v : vals)
			sum[i] += v;
	}
	KernelCounters k;
	k.events = sum[TCPSCOPE_CNT_EVENTS];
	k.lost = sum[TCPSCOPE_CNT_LOST];
	k.conn_full = sum[TCPSCOPE_CNT_CONN_FULL];
	k.filtered = sum[TCPSCOPE_CNT_FILTERED];
	k.agg_full = sum[TCPSCOPE_CNT_AGG_FULL];
	k.seeded = sum[TCPSCOPE_CNT_SEEDED];
	k.conn_untracked = sum[TCPSCOPE_CNT_CONN_UNTRACKED];
	k.tw_full = sum[TCPSCOPE_CNT_TW_FULL];
	k.listener_full = sum[TCPSCOPE_CNT_LISTENER_FULL];
	k.embryo_full = sum[TCPSCOPE_CNT_EMBRYO_FULL];
	k.ports_full = sum[TCPSCOPE_CNT_PORTS_FULL];
	k.tw_stale = sum[TCPSCOPE_CNT_TW_STALE];
	k.lost_summary = sum[TCPSCOPE_CNT_LOST_SUMMARY];
	k.recounted = sum[TCPSCOPE_CNT_RECOUNTED];
	return k;
}

std::vector<NamedCount> Tracer::recursion_misses() const
{
	std::vector<NamedCount> out;
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, skel_->obj)
	{
		int fd = bpf_program__fd(prog);
		if (fd < 0 || (bpf_program__type(prog) == BPF_PROG_TYPE_TRACING &&
			       bpf_program__expected_attach_type(prog) == BPF_TRACE_ITER))
			continue; // not loaded, or the start-up walk (it cannot recurse)
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		out.push_back({bpf_program__name(prog), info.recursion_misses});
	}
	return out;
}

int Tracer::aggs_fd() const
{
	return bpf_map__fd(skel_->maps.aggs);
}

int Tracer::ports_fd() const
{
	return bpf_map__fd(skel_->maps.ports_agg);
}

Result<size_t> Tracer::seed(std::vector<std::string> &failed, std::vector<SockEvent> *snapshot)
{
	size_t walked = 0;

	if (!seed_link_)
		return 0;
	auto namespaces = all_netns();
	netns_paths_.clear();
	for (const auto &[ino, path] : namespaces)
		netns_paths_[ino] = path;
	if (netns_) // the programs keep no state for any other
		std::erase_if(namespaces, [this](const auto &n) { return n.first != netns_; });
	// The aggregates of every namespace known now are made here, where memory is plentiful:
	// the kernel side makes them on first use in atomic context, where a large per-CPU
	// value can fail to allocate until the allocator refills (counted as agg_full).
	int ncpu = libbpf_num_possible_cpus();
	std::vector<struct tcpscope_agg> zero(ncpu > 0 ? ncpu : 1);
	for (const auto &[ino, path] : namespaces) {
		uint32_t key = ino;
		if (aggregate_)
			bpf_map_update_elem(aggs_fd(), &key, zero.data(), BPF_NOEXIST);
	}
	std::vector<char> out;
	for (const auto &[ino, path] : namespaces) {
		UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
		int err = fd ? walk_in_netns(bpf_link__fd(seed_link_), fd.get(),
					     snapshot ? &out : nullptr)
			     : errno;

		if (err == ENOENT || err == ESRCH)
			continue; // its last process exited: nothing left to count
		if (err) {
			failed.push_back("failed to walk the sockets of netns " +
					 std::to_string(ino) + " (" + path + "): " + strerror(err));
			continue;
		}
		walked++;
	}
	if (snapshot) {
		// whole records only: bpf_seq_read() drops the output of an object that did not
		// fit and shows it again at the next read
		if (out.size() % sizeof(SockEvent))
			return sys_error("read the socket walk's records", "seed_sockets", EPROTO);
		for (size_t off = 0; off < out.size(); off += sizeof(SockEvent)) {
			SockEvent r;
			std::memcpy(&r, out.data() + off, sizeof(r));
			snapshot->push_back(r);
		}
	}
	return walked;
}

int Tracer::recount(uint32_t netns)
{
	if (!recount_link_)
		return EOPNOTSUPP;
	for (int pass = 0; pass < 2; pass++) {
		auto it = netns_paths_.find(netns);
		if (it != netns_paths_.end()) {
			UniqueFd fd(::open(it->second.c_str(), O_RDONLY | O_CLOEXEC));
			struct stat st;
			// the path may now name another namespace (a pid reused, a name re-added)
			if (fd && fstat(fd.get(), &st) == 0 && st.st_ino == netns) {
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts); // bpf_ktime_get_ns()'s clock
				skel_->bss->recount_gen++;
				skel_->bss->recount_start_ns =
					uint64_t(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
				skel_->bss->recount_netns = netns;
				return walk_in_netns(bpf_link__fd(recount_link_), fd.get());
			}
		}
		if (pass == 0) { // a namespace made since: look again
			netns_paths_.clear();
			for (const auto &[ino, path] : all_netns())
				netns_paths_[ino] = path;
		}
	}
	return ENOENT; // gone: its timewait sockets went with it
}

} // namespace tcpscope
