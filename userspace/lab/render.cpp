// SPDX-License-Identifier: GPL-2.0
// The text diagram follows the articles' figures: client on the left, server on the right,
// each segment an arrow in tcpdump's notation with relative seq/ack, each side's state
// changes and calls printed on its own side, time down the page.
#include "lab/render.h"

#include <netinet/tcp.h>

#include <algorithm>

#include <fmt/format.h>

#include "event/states.h"

namespace tcpscope::lab {

std::string json_string(std::string_view s)
{
	std::string o = "\"";
	for (unsigned char ch : s) {
		switch (ch) {
		case '"':
			o += "\\\"";
			break;
		case '\\':
			o += "\\\\";
			break;
		case '\n':
			o += "\\n";
			break;
		case '\t':
			o += "\\t";
			break;
		default:
			if (ch < 0x20)
				o += fmt::format("\\u{:04x}", ch);
			else
				o += char(ch);
		}
	}
	return o + "\"";
}

namespace {

constexpr int kTime = 10, kLeft = 34, kArrow = 44;

int64_t t_us(const Trace &t, uint64_t ts)
{
	return (int64_t(ts) - int64_t(t.t0_ns)) / 1000;
}

std::string segment_label(const Trace &t, const Packet &p)
{
	Relative r = relative(t, p);
	std::string s = fmt::format("{} seq {}", flag_string(p.flags), r.seq);
	if (p.flags & kAck)
		s += fmt::format(" ack {}", r.ack);
	s += fmt::format(" len {}", p.len);
	if (p.fastopen)
		s += p.fastopen_len > 2 ? " tfo cookie" : " tfo req";
	if (p.gso_segs > 1)
		s += fmt::format(" ({} segs)", p.gso_segs);
	return s;
}

std::string arrow(const Trace &t, const Packet &p)
{
	std::string label = " " + segment_label(t, p) + " ";
	int fill = kArrow - 4 - int(label.size());
	if (fill < 2)
		fill = 2;
	std::string dashes(size_t(fill), '-');
	if (p.from == Side::client)
		return "--" + label + dashes + (p.dropped ? "X " : "->");
	return (p.dropped ? " X" : "<-") + dashes + label + "--";
}

bool is_conn(const Trace &t, const Transition &tr)
{
	uint16_t mine = tr.side == Side::client ? t.client_port : t.server_port;
	uint16_t peer = tr.side == Side::client ? t.server_port : t.client_port;
	return (mine && peer && tr.sport == mine && tr.dport == peer) ||
	       (tr.old_state == TCP_LISTEN && tr.new_state == TCP_SYN_RECV);
}

// "" for the connection's socket, "listener " or ":PORT " (another connection's) otherwise
std::string socket_label(const Trace &t, const Transition &tr)
{
	if (is_conn(t, tr))
		return "";
	if (!tr.dport)
		return "listener ";
	return fmt::format(":{} ", tr.side == Side::client ? tr.sport : tr.dport);
}

std::string side_line(Side s, const std::string &text)
{
	if (s == Side::client)
		return fmt::format("{:>{}} |{:{}}|", text, kLeft, "", kArrow);
	return fmt::format("{:>{}} |{:{}}| {}", "", kLeft, "", kArrow, text);
}

std::string snapshot_text(const Snapshot &sn)
{
	// ss's names for idiag_timer
	static const char *timers[] = {"off", "on", "keepalive", "timewait", "persist"};
	std::string s = fmt::format("(ss: {}", state_name(sn.state));
	if (sn.timer && sn.timer < 5)
		s += fmt::format(" {} {:.3f} s", timers[sn.timer], sn.expires_ms / 1000.0);
	return s + ")";
}

} // namespace

std::string render_text(const Experiment &e, const Trace &t, const Verdict &v)
{
	std::string o;
	const Variant *var = find_variant(e, t.variant);
	o += fmt::format("tcpscope lab {} --variant {}: {}\n", e.name, t.variant,
			 var ? var->what : "");
	o += fmt::format("claim ({}): \"{}\"\n", e.source, e.claim);
	for (const auto &s : t.setup)
		o += "setup: " + s + "\n";
	o += "\n";
	// the labels sit over the lifelines: the client's ends at its '|', the server's after
	o += fmt::format("{:>{}}  {:>{}}  {:{}}  {}\n", "t (ms)", kTime,
			 t.client_port ? fmt::format("client {}:{}", t.client_addr, t.client_port)
				       : fmt::format("client {}", t.client_addr),
			 kLeft, "", kArrow,
			 fmt::format("server {}:{}", t.server_addr, t.server_port));

	// packets, transitions, calls and snapshots by time (stable: in that order at a tie)
	std::vector<std::pair<uint64_t, std::string>> rows;
	for (const auto &p : t.packets)
		rows.push_back(
			{p.ts_ns, fmt::format("{:>{}} |{:{}}|", "", kLeft, arrow(t, p), kArrow)});
	for (const auto &tr : t.transitions)
		rows.push_back(
			{tr.ts_ns, side_line(tr.side, fmt::format("[{}{}]", socket_label(t, tr),
								  state_name(tr.new_state)))});
	for (const auto &cl : t.calls)
		rows.push_back(
			{cl.ts_ns,
			 side_line(cl.side,
				   cl.call + (cl.ret < 0 ? fmt::format(" = -1 {}",
								       strerrorname_np(cl.err))
							 : fmt::format(" = {}", cl.ret)))});
	for (const auto &sn : t.snapshots)
		rows.push_back({sn.ts_ns, side_line(sn.side, snapshot_text(sn))});
	std::stable_sort(rows.begin(), rows.end(),
			 [](const auto &a, const auto &b) { return a.first < b.first; });
	for (const auto &[ts, line] : rows)
		o += fmt::format("{:>{}.3f}  {}\n", t_us(t, ts) / 1000.0, kTime, line);
	o += "\n";
	for (const auto &n : t.notes)
		o += "note: " + n + "\n";
	for (int i = 0; i < 2; i++) {
		std::string c;
		for (const auto &[k, val] : t.counters[i])
			if (k.rfind("TcpExt", 0) == 0 || k.rfind("Tcp", 0) == 0)
				c += fmt::format(" {} {:+}", k, val);
		if (!c.empty())
			o += fmt::format("{} counters:{}\n", i == 0 ? "client" : "server", c);
	}
	if (v.kind == VerdictKind::skipped)
		o += fmt::format("verdict: SKIPPED: {}\n", v.reason);
	else
		o += fmt::format("verdict: {}: \"{}\": {}\n",
				 v.kind == VerdictKind::holds ? "HOLDS" : "DOES NOT HOLD", e.claim,
				 v.text);
	return o;
}

std::string render_json(const Experiment &e, const Trace &t, const Verdict &v)
{
	std::string o = "{";
	o += "\"experiment\":" + json_string(e.name);
	o += ",\"variant\":" + json_string(t.variant);
	o += ",\"claim\":" + json_string(e.claim);
	o += ",\"source\":" + json_string(e.source);
	o += ",\"verdict\":" + json_string(verdict_name(v.kind));
	if (v.kind == VerdictKind::skipped)
		o += ",\"reason\":" + json_string(v.reason);
	o += ",\"summary\":" + json_string(v.text);
	o += fmt::format(",\"client\":{},\"server\":{}",
			 json_string(fmt::format("{}:{}", t.client_addr, t.client_port)),
			 json_string(fmt::format("{}:{}", t.server_addr, t.server_port)));
	o += ",\"setup\":[";
	for (size_t i = 0; i < t.setup.size(); i++)
		o += (i ? "," : "") + json_string(t.setup[i]);
	o += "],\"packets\":[";
	for (size_t i = 0; i < t.packets.size(); i++) {
		const Packet &p = t.packets[i];
		Relative r = relative(t, p);
		o += fmt::format("{}{{\"t_us\":{},\"from\":{},\"flags\":{},\"seq\":{},\"ack\":{},"
				 "\"len\":{},\"win\":{},\"raw_seq\":{},\"raw_ack\":{},"
				 "\"sport\":{},\"dport\":{},\"fastopen\":{},\"gso_segs\":{},"
				 "\"dropped\":{}}}",
				 i ? "," : "", t_us(t, p.ts_ns), json_string(side_name(p.from)),
				 json_string(flag_string(p.flags)), r.seq, r.ack, p.len, p.win,
				 p.seq, p.ack, p.sport, p.dport,
				 !p.fastopen          ? "null"
				 : p.fastopen_len > 2 ? "\"cookie\""
						      : "\"request\"",
				 p.gso_segs > 1 ? p.gso_segs : 1, p.dropped ? "true" : "false");
	}
	o += "],\"transitions\":[";
	for (size_t i = 0; i < t.transitions.size(); i++) {
		const Transition &tr = t.transitions[i];
		o += fmt::format("{}{{\"t_us\":{},\"side\":{},\"old\":{},\"new\":{},\"sport\":{},"
				 "\"dport\":{}}}",
				 i ? "," : "", t_us(t, tr.ts_ns), json_string(side_name(tr.side)),
				 json_string(state_name(tr.old_state)),
				 json_string(state_name(tr.new_state)), tr.sport, tr.dport);
	}
	o += "],\"calls\":[";
	for (size_t i = 0; i < t.calls.size(); i++) {
		const Call &c = t.calls[i];
		o += fmt::format(
			"{}{{\"t_us\":{},\"side\":{},\"call\":{},\"ret\":{},\"errno\":{}}}",
			i ? "," : "", t_us(t, c.ts_ns), json_string(side_name(c.side)),
			json_string(c.call), c.ret,
			c.err ? json_string(strerrorname_np(c.err)) : "null");
	}
	o += "],\"snapshots\":[";
	for (size_t i = 0; i < t.snapshots.size(); i++) {
		const Snapshot &sn = t.snapshots[i];
		o += fmt::format("{}{{\"t_us\":{},\"side\":{},\"state\":{},\"timer\":{},"
				 "\"expires_ms\":{}}}",
				 i ? "," : "", t_us(t, sn.ts_ns), json_string(side_name(sn.side)),
				 json_string(state_name(sn.state)), sn.timer, sn.expires_ms);
	}
	o += "],\"counters\":{";
	for (int i = 0; i < 2; i++) {
		o += fmt::format("{}\"{}\":{{", i ? "," : "", i == 0 ? "client" : "server");
		bool first = true;
		for (const auto &[k, val] : t.counters[i]) {
			o += fmt::format("{}{}:{}", first ? "" : ",", json_string(k), val);
			first = false;
		}
		o += "}";
	}
	o += "},\"paths\":{";
	for (int i = 0; i < 2; i++) {
		o += fmt::format("{}\"{}\":[", i ? "," : "", i == 0 ? "client" : "server");
		for (size_t j = 0; j < v.paths[i].size(); j++)
			o += (j ? "," : "") + json_string(v.paths[i][j]);
		o += "]";
	}
	o += "},\"numbers\":{";
	for (size_t i = 0; i < v.numbers.size(); i++)
		o += fmt::format("{}{}:{}", i ? "," : "", json_string(v.numbers[i].first),
				 v.numbers[i].second);
	o += "},\"notes\":[";
	for (size_t i = 0; i < t.notes.size(); i++)
		o += (i ? "," : "") + json_string(t.notes[i]);
	o += "]}\n";
	return o;
}

namespace {

template <class T> void put_le(std::string &o, T v)
{
	for (size_t i = 0; i < sizeof(T); i++)
		o += char((uint64_t(v) >> (8 * i)) & 0xff);
}

} // namespace

std::string render_pcap(const Trace &t)
{
	std::string o;
	// libpcap's file format, microsecond timestamps, LINKTYPE_ETHERNET
	put_le<uint32_t>(o, 0xa1b2c3d4);
	put_le<uint16_t>(o, 2);
	put_le<uint16_t>(o, 4);
	put_le<int32_t>(o, 0);
	put_le<uint32_t>(o, 0);
	put_le<uint32_t>(o, 262144);
	put_le<uint32_t>(o, 1);
	for (const auto &p : t.packets) {
		int64_t wall = int64_t(p.ts_ns) + t.realtime_off_ns;
		put_le<uint32_t>(o, uint32_t(wall / 1000000000));
		put_le<uint32_t>(o, uint32_t((wall % 1000000000) / 1000));
		put_le<uint32_t>(o, uint32_t(p.frame.size()));
		put_le<uint32_t>(o, std::max<uint32_t>(p.wire_len, uint32_t(p.frame.size())));
		o.append(reinterpret_cast<const char *>(p.frame.data()), p.frame.size());
	}
	return o;
}

namespace {

std::string xml(std::string_view s)
{
	std::string o;
	for (char c : s) {
		switch (c) {
		case '<':
			o += "&lt;";
			break;
		case '>':
			o += "&gt;";
			break;
		case '&':
			o += "&amp;";
			break;
		case '"':
			o += "&quot;";
			break;
		default:
			o += c;
		}
	}
	return o;
}

// A fill for each state band: opening states green, closing ones orange to red.
const char *state_color(unsigned st)
{
	switch (st) {
	case TCP_ESTABLISHED:
		return "#cfe8cf";
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
	case TCP_LISTEN:
		return "#e3f0d5";
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSE_WAIT:
		return "#fbe3c0";
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		return "#f8cfa8";
	case TCP_TIME_WAIT:
		return "#f5b7a8";
	}
	return "#eeeeee";
}

// Words split into lines of at most `width` characters.
std::vector<std::string> wrap(std::string_view s, size_t width)
{
	std::vector<std::string> lines{""};
	size_t at = 0;
	while (at < s.size()) {
		size_t sp = s.find(' ', at);
		std::string_view w = s.substr(at, sp == std::string_view::npos ? sp : sp - at);
		if (!lines.back().empty() && lines.back().size() + 1 + w.size() > width)
			lines.emplace_back();
		lines.back() += (lines.back().empty() ? "" : " ") + std::string(w);
		if (sp == std::string_view::npos)
			break;
		at = sp + 1;
	}
	return lines;
}

} // namespace

std::string render_svg(const Experiment &e, const Trace &t, const Verdict &v)
{
	constexpr int kW = 1000, kCx = 340, kSx = 740, kRow = 20, kBreak = 28;
	constexpr uint64_t kGapNs = 50000000; // a longer quiet time is drawn as a break

	// every row's time, in order (the text diagram's rows)
	struct Row {
		uint64_t ts;
		int kind; // 0 packet, 1 transition, 2 call, 3 snapshot
		size_t i;
	};
	std::vector<Row> rows;
	for (size_t i = 0; i < t.packets.size(); i++)
		rows.push_back({t.packets[i].ts_ns, 0, i});
	for (size_t i = 0; i < t.transitions.size(); i++)
		rows.push_back({t.transitions[i].ts_ns, 1, i});
	for (size_t i = 0; i < t.calls.size(); i++)
		rows.push_back({t.calls[i].ts_ns, 2, i});
	for (size_t i = 0; i < t.snapshots.size(); i++)
		rows.push_back({t.snapshots[i].ts_ns, 3, i});
	std::stable_sort(rows.begin(), rows.end(),
			 [](const Row &a, const Row &b) { return a.ts < b.ts; });

	const auto claim = wrap("claim (" + e.source + "): \"" + e.claim + "\"", 120);
	int y = 40 + int(claim.size()) * 16 + 40;
	const int top = y;
	std::vector<int> ys;
	std::string body, breaks;
	uint64_t prev = rows.empty() ? 0 : rows[0].ts;
	for (const auto &r : rows) {
		if (r.ts - prev > kGapNs) {
			// the time axis is broken here: a zigzag across both lifelines
			y += kBreak;
			int by = y - kBreak / 2 - 4;
			for (int x : {kCx, kSx})
				breaks += fmt::format(
					"<path d=\"M{} {} l-8 4 l16 4 l-8 4\" stroke=\"#666\" "
					"fill=\"white\"/>",
					x, by - 6);
			breaks += fmt::format("<text x=\"{}\" y=\"{}\" class=\"gap\">{:.3f} s later"
					      "</text>",
					      kCx + 24, by + 4, (r.ts - prev) / 1e9);
		}
		y += kRow;
		ys.push_back(y);
		prev = r.ts;
	}
	const int bottom = y + kRow;

	// state bands: each side's connection socket from one state change to the next
	std::string bands;
	for (Side side : {Side::client, Side::server}) {
		const int x = side == Side::client ? kCx : kSx;
		int from = top;
		unsigned st = side == Side::client ? TCP_CLOSE : TCP_LISTEN;
		for (size_t k = 0; k < rows.size(); k++) {
			if (rows[k].kind != 1)
				continue;
			const Transition &tr = t.transitions[rows[k].i];
			if (tr.side != side || !is_conn(t, tr))
				continue;
			bands += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"16\" height=\"{}\" "
					     "fill=\"{}\"/>",
					     x - 8, from, std::max(ys[k] - from, 1),
					     state_color(st));
			from = ys[k];
			st = tr.new_state;
		}
		bands += fmt::format(
			"<rect x=\"{}\" y=\"{}\" width=\"16\" height=\"{}\" fill=\"{}\"/>", x - 8,
			from, std::max(bottom - from, 1), state_color(st));
	}

	for (size_t k = 0; k < rows.size(); k++) {
		const Row &r = rows[k];
		const int ry = ys[k];
		body += fmt::format("<text x=\"70\" y=\"{}\" class=\"t\">{:.3f}</text>", ry + 4,
				    t_us(t, r.ts) / 1000.0);
		auto side_text = [&](Side s, const std::string &text, const char *cls) {
			if (s == Side::client)
				body += fmt::format("<text x=\"{}\" y=\"{}\" class=\"{}\" "
						    "text-anchor=\"end\">{}</text>",
						    kCx - 14, ry + 4, cls, xml(text));
			else
				body += fmt::format(
					"<text x=\"{}\" y=\"{}\" class=\"{}\">{}</text>", kSx + 14,
					ry + 4, cls, xml(text));
		};
		if (r.kind == 0) {
			const Packet &p = t.packets[r.i];
			// one row of slant: the direction of travel (the wire's own delay on a
			// veth is microseconds)
			const bool right = p.from == Side::client;
			int x1 = right ? kCx : kSx, x2 = right ? kSx : kCx;
			int y2 = ry + kRow / 2;
			if (p.dropped)
				x2 = (kCx + kSx) / 2;
			body += fmt::format(
				"<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"{}\" "
				"{}/>",
				x1, ry, x2, y2, p.dropped ? "drop" : "seg",
				p.dropped ? "" : "marker-end=\"url(#arrow)\"");
			if (p.dropped)
				body += fmt::format("<text x=\"{}\" y=\"{}\" class=\"x\">X</text>",
						    x2 - 5, y2 + 5);
			body += fmt::format("<text x=\"{}\" y=\"{}\" class=\"lbl\" "
					    "text-anchor=\"middle\">{}</text>",
					    (kCx + kSx) / 2, ry - 2, xml(segment_label(t, p)));
		} else if (r.kind == 1) {
			const Transition &tr = t.transitions[r.i];
			side_text(tr.side,
				  socket_label(t, tr) + std::string(state_name(tr.new_state)),
				  is_conn(t, tr) ? "st" : "st2");
		} else if (r.kind == 2) {
			const Call &c = t.calls[r.i];
			side_text(c.side,
				  c.call + (c.ret < 0 ? fmt::format(" = -1 {}",
								    strerrorname_np(c.err))
						      : fmt::format(" = {}", c.ret)),
				  "call");
		} else {
			side_text(t.snapshots[r.i].side, snapshot_text(t.snapshots[r.i]), "call");
		}
	}

	std::vector<std::string> verdict;
	if (v.kind == VerdictKind::skipped)
		verdict = wrap("verdict: SKIPPED: " + v.reason, 130);
	else
		verdict = wrap(
			std::string("verdict: ") +
				(v.kind == VerdictKind::holds ? "HOLDS: " : "DOES NOT HOLD: ") +
				v.text,
			130);
	const int height = bottom + 30 + int(verdict.size()) * 16 + 20;

	std::string o =
		fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
			    "viewBox=\"0 0 {} {}\" font-family=\"monospace\" font-size=\"12\">\n",
			    kW, height, kW, height);
	o += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
	     "markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\"><path d=\"M0 0 L10 5 L0 10 "
	     "z\" fill=\"#222\"/></marker><style>.seg{stroke:#222;stroke-width:1.2}"
	     ".drop{stroke:#b00;stroke-width:1.2;stroke-dasharray:4 3}.x{fill:#b00;"
	     "font-weight:bold}.lbl{fill:#114}.st{fill:#060;font-weight:bold}.st2{fill:#888}"
	     ".call{fill:#555}.t{fill:#777;text-anchor:end}.gap{fill:#666;"
	     "font-style:italic}.h{font-weight:bold;font-size:14px}</style></defs>\n";
	o += fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"white\"/>\n", kW, height);
	o += fmt::format("<text x=\"20\" y=\"24\" class=\"h\">tcpscope lab {} --variant {}"
			 "</text>\n",
			 xml(e.name), xml(t.variant));
	for (size_t i = 0; i < claim.size(); i++)
		o += fmt::format("<text x=\"20\" y=\"{}\">{}</text>\n", 44 + 16 * i, xml(claim[i]));
	o += fmt::format("<text x=\"70\" y=\"{}\" class=\"t\">t (ms)</text>", top - 10);
	o += fmt::format("<text x=\"{}\" y=\"{}\" class=\"h\" text-anchor=\"middle\">client "
			 "{}</text>",
			 kCx, top - 10, xml(t.client_addr));
	o += fmt::format("<text x=\"{}\" y=\"{}\" class=\"h\" text-anchor=\"middle\">server "
			 "{}:{}</text>\n",
			 kSx, top - 10, xml(t.server_addr), t.server_port);
	o += bands + "\n";
	for (int x : {kCx, kSx})
		o += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#444\"/>",
				 x, top, x, bottom);
	o += "\n" + breaks + "\n" + body + "\n";
	for (size_t i = 0; i < verdict.size(); i++)
		o += fmt::format("<text x=\"20\" y=\"{}\">{}</text>\n", bottom + 30 + 16 * i,
				 xml(verdict[i]));
	return o + "</svg>\n";
}

std::string render_list_text()
{
	std::string o;
	for (const auto &e : catalog()) {
		o += fmt::format("{:<13} {}\n", e.name, e.claim);
		std::string vs;
		for (const auto &v : e.variants)
			vs += (vs.empty() ? "" : ", ") + v.name;
		o += fmt::format("{:<13} variants: {}\n", "", vs);
	}
	return o;
}

std::string render_list_json()
{
	std::string o;
	for (const auto &e : catalog()) {
		o += "{\"experiment\":" + json_string(e.name) +
		     ",\"claim\":" + json_string(e.claim) + ",\"source\":" + json_string(e.source) +
		     ",\"variants\":[";
		for (size_t i = 0; i < e.variants.size(); i++)
			o += fmt::format("{}{{\"name\":{},\"what\":{}}}", i ? "," : "",
					 json_string(e.variants[i].name),
					 json_string(e.variants[i].what));
		o += "]}\n";
	}
	return o;
}

std::string render_variants(const Experiment &e)
{
	std::string o;
	for (size_t i = 0; i < e.variants.size(); i++)
		o += fmt::format("{:<12} {}{}\n", e.variants[i].name, e.variants[i].what,
				 i == 0 ? " (default)" : "");
	return o;
}

} // namespace tcpscope::lab
