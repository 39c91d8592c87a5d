// SPDX-License-Identifier: GPL-2.0
// Namespaces by unshare(2), the veth pair and addresses over rtnetlink, sysctls and counters
// read in each namespace through setns(2) of the calling thread.
#include "lab/topology.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace tcpscope::lab {

Result<InNetns> InNetns::enter(int ns_fd)
{
	InNetns g;
	g.saved_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
	if (!g.saved_)
		return sys_error("open", "/proc/thread-self/ns/net", errno);
	if (setns(ns_fd, CLONE_NEWNET) < 0)
		return sys_error("enter", "the lab's network namespace", errno);
	return g;
}

InNetns::~InNetns()
{
	// a thread left in a lab namespace would run the rest of the program there
	if (saved_ && setns(saved_.get(), CLONE_NEWNET) < 0) {
		fprintf(stderr,
			"tcpscope: failed to return to the original network namespace: "
			"%s\n",
			strerror(errno));
		abort();
	}
}

namespace {

// A fresh network namespace, held by the returned descriptor only; the calling thread
// returns to its own.
Result<UniqueFd> new_netns()
{
	UniqueFd saved(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
	if (!saved)
		return sys_error("open", "/proc/thread-self/ns/net", errno);
	if (unshare(CLONE_NEWNET) < 0)
		return sys_error("create", "network namespace", errno);
	UniqueFd ns(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
	int err = ns ? 0 : errno;
	if (setns(saved.get(), CLONE_NEWNET) < 0) {
		fprintf(stderr,
			"tcpscope: failed to return to the original network namespace: "
			"%s\n",
			strerror(errno));
		abort();
	}
	if (!ns)
		return sys_error("open", "the new network namespace", err);
	return ns;
}

// One rtnetlink request built attribute by attribute, sent, and its ack read.
class NlRequest {
      public:
	NlRequest(uint16_t type, uint16_t flags)
	{
		buf_.resize(NLMSG_HDRLEN);
		hdr()->nlmsg_type = type;
		hdr()->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	}
	template <class T> void put(const T &v) { append(&v, sizeof(v)); }
	void attr(uint16_t type, const void *data, size_t len)
	{
		struct rtattr rta = {uint16_t(RTA_LENGTH(len)), type};
		append(&rta, sizeof(rta));
		append(data, len);
	}
	void attr_str(uint16_t type, const std::string &s) { attr(type, s.c_str(), s.size() + 1); }
	template <class T> void attr_val(uint16_t type, T v) { attr(type, &v, sizeof(v)); }
	size_t nest_begin(uint16_t type)
	{
		size_t at = buf_.size();
		attr(type, nullptr, 0);
		return at;
	}
	void nest_end(size_t at)
	{
		reinterpret_cast<struct rtattr *>(buf_.data() + at)->rta_len =
			uint16_t(buf_.size() - at);
	}
	Status send(int nl, const char *what)
	{
		hdr()->nlmsg_len = uint32_t(buf_.size());
		hdr()->nlmsg_seq = 1;
		if (::send(nl, buf_.data(), buf_.size(), 0) < 0)
			return sys_error("send netlink request", what, errno);
		char ack[4096];
		ssize_t n = recv(nl, ack, sizeof(ack), 0);
		if (n < 0)
			return sys_error("read netlink reply", what, errno);
		auto *h = reinterpret_cast<struct nlmsghdr *>(ack);
		if (!NLMSG_OK(h, size_t(n)) || h->nlmsg_type != NLMSG_ERROR)
			return sys_error("read netlink reply", what, EPROTO);
		auto *e = static_cast<struct nlmsgerr *>(NLMSG_DATA(h));
		if (e->error)
			return sys_error("set up", what, -e->error);
		return std::nullopt;
	}

      private:
	struct nlmsghdr *hdr() { return reinterpret_cast<struct nlmsghdr *>(buf_.data()); }
	void append(const void *p, size_t len)
	{
		size_t at = buf_.size();
		buf_.resize(at + NLMSG_ALIGN(len));
		if (len)
			memcpy(buf_.data() + at, p, len);
	}
	std::vector<char> buf_;
};

Result<UniqueFd> nl_socket()
{
	UniqueFd nl(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
	if (!nl)
		return sys_error("open", "rtnetlink socket", errno);
	return nl;
}

Status link_up(int nl, int ifindex, const char *what)
{
	NlRequest r(RTM_NEWLINK, 0);
	struct ifinfomsg ifi = {};
	ifi.ifi_family = AF_UNSPEC;
	ifi.ifi_index = ifindex;
	ifi.ifi_flags = IFF_UP;
	ifi.ifi_change = IFF_UP;
	r.put(ifi);
	return r.send(nl, what);
}

Status add_addr(int nl, int ifindex, const char *addr, const char *what)
{
	NlRequest r(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg ifa = {};
	ifa.ifa_family = AF_INET;
	ifa.ifa_prefixlen = 24;
	ifa.ifa_index = uint32_t(ifindex);
	r.put(ifa);
	struct in_addr a;
	inet_pton(AF_INET, addr, &a);
	r.attr(IFA_LOCAL, &a, sizeof(a));
	r.attr(IFA_ADDRESS, &a, sizeof(a));
	return r.send(nl, what);
}

// One side's interfaces up and addressed, inside its namespace.
Status set_up_side(int ns_fd, const char *ifname, const char *addr, int *ifindex_out)
{
	auto in = InNetns::enter(ns_fd);
	if (!in)
		return in.error();
	auto nl = nl_socket();
	if (!nl)
		return nl.error();
	if (auto e = link_up(nl->get(), 1, "loopback up")) // lo is ifindex 1 in a new netns
		return e;
	int idx = int(if_nametoindex(ifname));
	if (!idx)
		return sys_error("find interface", ifname, errno);
	if (auto e = add_addr(nl->get(), idx, addr, ifname))
		return e;
	if (auto e = link_up(nl->get(), idx, ifname))
		return e;
	if (ifindex_out)
		*ifindex_out = idx;
	return std::nullopt;
}

uint32_t inode_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? uint32_t(st.st_ino) : 0;
}

} // namespace

Result<Topology> Topology::create()
{
	Topology t;
	auto c = new_netns();
	if (!c)
		return c.error();
	auto s = new_netns();
	if (!s)
		return s.error();
	t.client_ = std::move(*c);
	t.server_ = std::move(*s);
	t.client_ino_ = inode_of(t.client_.get());
	t.server_ino_ = inode_of(t.server_.get());

	// No IPv6 on the veth: no router solicitations or DAD, only the experiment's segments
	for (Side side : {Side::client, Side::server})
		for (const char *k :
		     {"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"})
			if (auto e = t.sysctl(side, k, "1"); e && e->err != ENOENT)
				return *e;
	{
		auto in = InNetns::enter(t.client_.get());
		if (!in)
			return in.error();
		auto nl = nl_socket();
		if (!nl)
			return nl.error();
		NlRequest r(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
		struct ifinfomsg ifi = {};
		ifi.ifi_family = AF_UNSPEC;
		r.put(ifi);
		r.attr_str(IFLA_IFNAME, "c0");
		size_t info = r.nest_begin(IFLA_LINKINFO);
		r.attr_str(IFLA_INFO_KIND, "veth");
		size_t data = r.nest_begin(IFLA_INFO_DATA);
		size_t peer = r.nest_begin(VETH_INFO_PEER);
		r.put(ifi);
		r.attr_str(IFLA_IFNAME, "s0");
		r.attr_val<uint32_t>(IFLA_NET_NS_FD, uint32_t(t.server_.get()));
		r.nest_end(peer);
		r.nest_end(data);
		r.nest_end(info);
		if (auto e = r.send(nl->get(), "veth pair c0/s0"))
			return *e;
	}
	if (auto e = set_up_side(t.client_.get(), "c0", kClientAddr, &t.c0_ifindex_))
		return *e;
	if (auto e = set_up_side(t.server_.get(), "s0", kServerAddr, nullptr))
		return *e;
	return t;
}

Status Topology::sysctl(Side s, const std::string &key, const std::string &value) const
{
	std::string path = "/proc/sys/" + key;
	for (size_t i = strlen("/proc/sys/"); i < path.size(); i++)
		if (path[i] == '.')
			path[i] = '/';
	auto in = InNetns::enter(ns_fd(s));
	if (!in)
		return in.error();
	UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
	if (!fd)
		return sys_error("open", path, errno);
	if (write(fd.get(), value.data(), value.size()) != ssize_t(value.size()))
		return sys_error("write " + value + " to", path, errno);
	return std::nullopt;
}

Result<std::string> Topology::read_sysctl(Side s, const std::string &key) const
{
	std::string path = "/proc/sys/" + key;
	for (size_t i = strlen("/proc/sys/"); i < path.size(); i++)
		if (path[i] == '.')
			path[i] = '/';
	auto in = InNetns::enter(ns_fd(s));
	if (!in)
		return in.error();
	std::ifstream is(path);
	if (!is)
		return sys_error("read", path, errno ? errno : ENOENT);
	std::string v, word;
	while (is >> word)
		v += (v.empty() ? "" : " ") + word;
	return v;
}

Result<UniqueFd> Topology::tcp_socket(Side s) const
{
	auto in = InNetns::enter(ns_fd(s));
	if (!in)
		return in.error();
	UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (!fd)
		return sys_error("create", "TCP socket", errno);
	return fd;
}

Counters parse_proc_counters(const std::string &text)
{
	Counters c;
	std::istringstream in(text);
	std::string names, values;
	while (std::getline(in, names) && std::getline(in, values)) {
		std::istringstream n(names), v(values);
		std::string prefix, vprefix, name;
		n >> prefix;
		v >> vprefix;
		if (prefix != vprefix || prefix.empty() || prefix.back() != ':')
			break;
		prefix.pop_back();
		long long val;
		while (n >> name && v >> val)
			c[prefix + name] = val;
	}
	return c;
}

Result<Counters> Topology::counters(Side s) const
{
	auto in = InNetns::enter(ns_fd(s));
	if (!in)
		return in.error();
	Counters all;
	for (const char *f : {"/proc/thread-self/net/netstat", "/proc/thread-self/net/snmp"}) {
		std::ifstream is(f);
		if (!is)
			return sys_error("read", f, errno ? errno : ENOENT);
		std::stringstream ss;
		ss << is.rdbuf();
		all.merge(parse_proc_counters(ss.str()));
	}
	return all;
}

Result<std::optional<Snapshot>> Topology::diag(Side s, uint16_t sport, uint16_t dport) const
{
	auto in = InNetns::enter(ns_fd(s));
	if (!in)
		return in.error();
	UniqueFd nl(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
	if (!nl)
		return sys_error("open", "sock_diag socket", errno);
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req = {};
	req.h.nlmsg_len = sizeof(req);
	req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.r.sdiag_family = AF_INET;
	req.r.sdiag_protocol = IPPROTO_TCP;
	req.r.idiag_states = ~0u;
	if (send(nl.get(), &req, sizeof(req), 0) < 0)
		return sys_error("send", "sock_diag request", errno);
	std::optional<Snapshot> found;
	alignas(struct nlmsghdr) char buf[16384];
	for (;;) {
		ssize_t n = recv(nl.get(), buf, sizeof(buf), 0);
		if (n < 0)
			return sys_error("read", "sock_diag reply", errno);
		for (auto *h = reinterpret_cast<struct nlmsghdr *>(buf); NLMSG_OK(h, size_t(n));
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return found;
			if (h->nlmsg_type == NLMSG_ERROR)
				return sys_error(
					"dump", "sockets (sock_diag)",
					-static_cast<struct nlmsgerr *>(NLMSG_DATA(h))->error);
			auto *m = static_cast<struct inet_diag_msg *>(NLMSG_DATA(h));
			if (ntohs(m->id.idiag_sport) != sport || ntohs(m->id.idiag_dport) != dport)
				continue;
			Snapshot snap;
			snap.side = s;
			snap.state = m->idiag_state;
			snap.timer = m->idiag_timer;
			snap.expires_ms = m->idiag_expires;
			found = snap;
		}
	}
}

Counters counter_deltas(const Counters &before, const Counters &after)
{
	Counters d;
	for (const auto &[k, v] : after) {
		auto it = before.find(k);
		int64_t delta = v - (it == before.end() ? 0 : it->second);
		if (delta)
			d[k] = delta;
	}
	return d;
}

} // namespace tcpscope::lab
