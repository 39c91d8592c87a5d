// SPDX-License-Identifier: GPL-2.0
// Loads lab_tap.bpf.c and attaches it to c0 from inside the client namespace (tc's netlink
// requests act on the caller's namespace).
#include "lab/tap.h"

#include <bpf/libbpf.h>

#include "lab_tap.h"
#include "lab_tap.skel.h"

namespace tcpscope::lab {

Result<std::unique_ptr<Tap>> Tap::attach(const Topology &topo, Sink sink)
{
	std::unique_ptr<Tap> t(new Tap());
	t->sink_ = std::move(sink);
	t->skel_ = lab_tap_bpf__open_and_load();
	if (!t->skel_)
		return Error{"load BPF programs", "lab_tap", errno, "run with -v for libbpf's log"};

	auto in = InNetns::enter(topo.ns_fd(Side::client));
	if (!in)
		return in.error();
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = topo.client_ifindex(),
			    .attach_point = BPF_TC_INGRESS);
	int err = bpf_tc_hook_create(&hook); // the clsact qdisc, for both directions
	if (err && err != -EEXIST)
		return sys_error("create clsact qdisc on", "c0", err);
	for (auto [point, prog] : {std::pair{BPF_TC_EGRESS, t->skel_->progs.handle_egress},
				   std::pair{BPF_TC_INGRESS, t->skel_->progs.handle_ingress}}) {
		hook.attach_point = point;
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog));
		err = bpf_tc_attach(&hook, &opts);
		if (err)
			return sys_error("attach tc program", bpf_program__name(prog), err);
	}
	t->rb_ = ring_buffer__new(bpf_map__fd(t->skel_->maps.pkts), on_sample, t.get(), nullptr);
	if (!t->rb_)
		return sys_error("create ring buffer", "pkts", errno);
	return t;
}

Tap::~Tap()
{
	ring_buffer__free(rb_);
	lab_tap_bpf__destroy(skel_);
}

int Tap::on_sample(void *ctx, void *data, size_t size)
{
	auto *self = static_cast<Tap *>(ctx);
	if (size < sizeof(struct tcpscope_lab_pkt))
		return 0;
	const auto *r = static_cast<const struct tcpscope_lab_pkt *>(data);
	auto p = parse_frame(r->data, std::min<size_t>(r->cap_len, TCPSCOPE_LAB_SNAP));
	if (!p)
		return 0;
	p->ts_ns = r->ts_ns;
	p->from = r->dir == TCPSCOPE_LAB_DIR_C2S ? Side::client : Side::server;
	p->dropped = r->dropped;
	p->gso_segs = r->gso_segs;
	p->wire_len = r->wire_len;
	self->sink_(std::move(*p));
	return 0;
}

int Tap::poll(int timeout_ms)
{
	return ring_buffer__poll(rb_, timeout_ms);
}

Status Tap::drop(Side from, unsigned count, uint8_t mask, uint8_t value)
{
	uint32_t key = from == Side::client ? TCPSCOPE_LAB_DIR_C2S : TCPSCOPE_LAB_DIR_S2C;
	struct tcpscope_lab_drop rule = {};
	rule.count = count;
	rule.mask = mask;
	rule.value = value;
	int err = bpf_map__update_elem(skel_->maps.drops, &key, sizeof(key), &rule, sizeof(rule),
				       BPF_ANY);
	if (err)
		return sys_error("update BPF map", "drops", err);
	return std::nullopt;
}

uint64_t Tap::lost() const
{
	uint32_t zero = 0;
	uint64_t n = 0;
	if (bpf_map__lookup_elem(skel_->maps.lost, &zero, sizeof(zero), &n, sizeof(n), 0))
		return 0;
	return n;
}

} // namespace tcpscope::lab
