// SPDX-License-Identifier: GPL-2.0
// Text, JSON and CSV rendering of events. Appends to a caller's buffer: no allocation per
// event on the hot path.
#include "format.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <ctime>
#include <iterator>

#include "states.h"

namespace tcpscope {

void format_addr(fmt::memory_buffer &out, unsigned family, const uint8_t *addr)
{
	char buf[INET6_ADDRSTRLEN];

	if (family != AF_INET6) { // by hand: inet_ntop() goes through sprintf, a third of JSON's cost
		char *p = buf;
		for (int i = 0; i < 4; i++) {
			unsigned v = addr[i];
			if (i)
				*p++ = '.';
			if (v >= 100)
				*p++ = char('0' + v / 100);
			if (v >= 10)
				*p++ = char('0' + v / 10 % 10);
			*p++ = char('0' + v % 10);
		}
		out.append(buf, p);
		return;
	}
	if (!inet_ntop(AF_INET6, addr, buf, sizeof(buf)))
		buf[0] = '\0';
	out.append(std::string_view(buf));
}

int write_stdout(std::string_view s)
{
	while (!s.empty()) {
		ssize_t n = write(STDOUT_FILENO, s.data(), s.size());
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		s.remove_prefix(size_t(n));
	}
	return 0;
}

namespace {

std::string_view comm_of(const RawEvent &e)
{
	size_t n = 0;
	while (n < sizeof(e.comm) && e.comm[n])
		n++;
	return {e.comm, n};
}

bool has_owner(const RawEvent &e)
{
	return !(e.flags & EVF_NO_OWNER);
}

bool has_dur(const RawEvent &e)
{
	return !(e.flags & EVF_NO_DUR);
}

std::string_view family_name(const RawEvent &e)
{
	return e.family == AF_INET6 ? "ipv6" : "ipv4";
}

void wall_time(fmt::memory_buffer &out, const Clock &c, uint64_t ts_ns, bool iso)
{
	int64_t ns = static_cast<int64_t>(ts_ns) + c.realtime_off;
	time_t secs = ns / 1000000000;
	struct tm tm;

	if (iso) {
		gmtime_r(&secs, &tm);
		fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
			       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			       tm.tm_sec, (ns % 1000000000) / 1000);
	} else {
		localtime_r(&secs, &tm);
		fmt::format_to(std::back_inserter(out), "{:02}:{:02}:{:02}.{:06}", tm.tm_hour,
			       tm.tm_min, tm.tm_sec, (ns % 1000000000) / 1000);
	}
}

void json_string(fmt::memory_buffer &out, std::string_view s)
{
	out.push_back('"');
	for (char ch : s) {
		auto u = static_cast<unsigned char>(ch);
		if (ch == '"' || ch == '\\') {
			out.push_back('\\');
			out.push_back(ch);
		} else if (u < 0x20 || u >= 0x7f) {
			// comm is bytes, not UTF-8: escape everything outside printable ASCII
			fmt::format_to(std::back_inserter(out), "\\u{:04x}", u);
		} else {
			out.push_back(ch);
		}
	}
	out.push_back('"');
}

void path_names(fmt::memory_buffer &out, const RawEvent &e, std::string_view sep, bool quote)
{
	for (unsigned i = 0; i < e.path_len && i < TCPSCOPE_PATH_MAX; i++) {
		if (i)
			out.append(sep);
		if (quote)
			out.push_back('"');
		out.append(state_name(path_state(e, i)));
		if (quote)
			out.push_back('"');
	}
	if (e.facts & F_PATH_TRUNC) {
		out.append(sep);
		out.append(quote ? std::string_view("\"...\"") : std::string_view("..."));
	}
}

class JsonFormatter : public Formatter {
      public:
	explicit JsonFormatter(const Clock &c) : clock_(c) {}
	void header(fmt::memory_buffer &) override {}
	void event(const Shown &s, fmt::memory_buffer &out) override
	{
		const RawEvent &e = *s.ev;
		auto it = std::back_inserter(out);

		out.append(std::string_view("{\"event\":\""));
		out.append(s.event);
		fmt::format_to(it, "\",\"ts_ns\":{}", e.ts_ns);
		if (clock_.wall) {
			out.append(std::string_view(",\"time\":\""));
			wall_time(out, clock_, e.ts_ns, true);
			out.push_back('"');
		}
		fmt::format_to(it, ",\"cookie\":{},\"family\":\"{}\",\"saddr\":\"", e.cookie,
			       family_name(e));
		format_addr(out, e.family, e.saddr);
		fmt::format_to(it, "\",\"sport\":{},\"daddr\":\"", e.sport);
		format_addr(out, e.family, e.daddr);
		fmt::format_to(it, "\",\"dport\":{}", e.dport);
		if (e.type != EV_CONN) {
			out.append(std::string_view(",\"old\":\""));
			out.append(state_name(s.old_state));
			out.append(std::string_view("\",\"new\":\""));
			out.append(state_name(s.new_state));
			out.push_back('"');
			if (has_dur(e))
				fmt::format_to(it, ",\"dur_us\":{}", e.dur_ns / 1000);
			else
				out.append(std::string_view(",\"dur_us\":null"));
		}
		if (has_owner(e)) {
			fmt::format_to(it, ",\"pid\":{},\"comm\":", e.pid);
			json_string(out, comm_of(e));
			fmt::format_to(it, ",\"cgroup\":{}", e.cgroup);
		} else {
			out.append(std::string_view(",\"pid\":null,\"comm\":null,\"cgroup\":null"));
		}
		fmt::format_to(it, ",\"netns\":{}", e.netns);
		if (e.flags & EVF_LATE)
			out.append(std::string_view(",\"late\":true"));
		if (e.type == EV_TW_LEAVE)
			fmt::format_to(it, ",\"cause\":\"{}\"", cause_name(e.cause));
		if (e.type == EV_KEEPALIVE)
			fmt::format_to(it, ",\"probe\":{}", e.probes);
		if (e.type == EV_CONN) {
			fmt::format_to(it, ",\"open\":\"{}\",\"handshake\":\"{}\",\"close\":\"{}\",\"path\":[",
				       open_name(e.open), handshake_name(e.handshake),
				       close_name(e.close));
			path_names(out, e, ",", true);
			out.push_back(']');
			if (has_dur(e))
				fmt::format_to(it, ",\"lifetime_us\":{}", e.lifetime_ns / 1000);
			else
				out.append(std::string_view(",\"lifetime_us\":null"));
			fmt::format_to(it, ",\"keepalive_probes\":{}", e.probes);
		}
		out.append(std::string_view("}\n"));
	}

      private:
	Clock clock_;
};

class CsvFormatter : public Formatter {
      public:
	explicit CsvFormatter(const Clock &c) : clock_(c) {}
	void header(fmt::memory_buffer &out) override
	{
		out.append(std::string_view(
			"event,ts_ns,time,cookie,family,saddr,sport,daddr,dport,old,new,dur_us,pid,"
			"comm,cgroup,netns,cause,probe,open,handshake,close,path,lifetime_us,"
			"keepalive_probes\n"));
	}
	void event(const Shown &s, fmt::memory_buffer &out) override
	{
		const RawEvent &e = *s.ev;
		auto it = std::back_inserter(out);
		const bool conn = e.type == EV_CONN;

		fmt::format_to(it, "{},{},", s.event, e.ts_ns);
		if (clock_.wall)
			wall_time(out, clock_, e.ts_ns, true);
		fmt::format_to(it, ",{},{},", e.cookie, family_name(e));
		format_addr(out, e.family, e.saddr);
		fmt::format_to(it, ",{},", e.sport);
		format_addr(out, e.family, e.daddr);
		fmt::format_to(it, ",{},", e.dport);
		if (!conn) {
			fmt::format_to(it, "{},{},", state_name(s.old_state), state_name(s.new_state));
			if (has_dur(e))
				fmt::format_to(it, "{}", e.dur_ns / 1000);
		} else {
			out.append(std::string_view(",,")); // old, new; dur_us follows
		}
		out.push_back(',');
		if (has_owner(e)) {
			// comm may hold a comma or quote: CSV-quote it
			fmt::format_to(it, "{},\"", e.pid);
			for (char ch : comm_of(e)) {
				if (ch == '"')
					out.push_back('"');
				out.push_back(ch);
			}
			fmt::format_to(it, "\",{}", e.cgroup);
		} else {
			out.append(std::string_view(",,"));
		}
		fmt::format_to(it, ",{},", e.netns);
		if (e.type == EV_TW_LEAVE)
			out.append(cause_name(e.cause));
		out.push_back(',');
		if (e.type == EV_KEEPALIVE)
			fmt::format_to(it, "{}", e.probes);
		out.push_back(',');
		if (conn) {
			fmt::format_to(it, "{},{},{},", open_name(e.open), handshake_name(e.handshake),
				       close_name(e.close));
			path_names(out, e, ">", false);
			out.push_back(',');
			if (has_dur(e))
				fmt::format_to(it, "{}", e.lifetime_ns / 1000);
			fmt::format_to(it, ",{}", e.probes);
		} else {
			out.append(std::string_view(",,,,,"));
		}
		out.push_back('\n');
	}

      private:
	Clock clock_;
};

class TextFormatter : public Formatter {
      public:
	explicit TextFormatter(const Clock &c) : clock_(c) {}
	void header(fmt::memory_buffer &out) override
	{
		fmt::format_to(std::back_inserter(out), "{:<15} {:<7} {:<15} {:>21} {:>21} {}\n",
			       clock_.wall ? "TIME" : "TIME(s)", "PID", "COMM", "LADDR:LPORT",
			       "RADDR:RPORT", "EVENT");
	}
	void event(const Shown &s, fmt::memory_buffer &out) override
	{
		const RawEvent &e = *s.ev;
		auto it = std::back_inserter(out);
		fmt::memory_buffer a;

		if (clock_.wall) {
			fmt::memory_buffer t;
			wall_time(t, clock_, e.ts_ns, false);
			fmt::format_to(it, "{:<15} ", std::string_view(t.data(), t.size()));
		} else {
			double rel = e.ts_ns >= clock_.start_ns ? (e.ts_ns - clock_.start_ns) / 1e9 : 0;
			fmt::format_to(it, "{:<15.6f} ", rel);
		}
		if (has_owner(e)) {
			// one event per line: no control characters from a task name
			char comm[sizeof(e.comm)];
			std::string_view raw = comm_of(e);
			for (size_t i = 0; i < raw.size(); i++)
				comm[i] = std::isprint(static_cast<unsigned char>(raw[i])) ? raw[i] : '?';
			fmt::format_to(it, "{:<7} {:<15} ", e.pid, std::string_view(comm, raw.size()));
		}
		else
			fmt::format_to(it, "{:<7} {:<15} ", "-", "-");
		endpoint(a, e.family, e.saddr, e.sport);
		fmt::format_to(it, "{:>21} ", std::string_view(a.data(), a.size()));
		a.clear();
		endpoint(a, e.family, e.daddr, e.dport);
		fmt::format_to(it, "{:>21} ", std::string_view(a.data(), a.size()));

		switch (e.type) {
		case EV_KEEPALIVE:
			fmt::format_to(it, "keepalive probe #{} in {}", e.probes,
				       state_name(s.old_state));
			break;
		case EV_CONN:
			fmt::format_to(it, "conn {}/{} close={} probes={} life=", open_name(e.open),
				       handshake_name(e.handshake), close_name(e.close), e.probes);
			if (has_dur(e))
				fmt::format_to(it, "{:.3f}ms", e.lifetime_ns / 1e6);
			else
				out.push_back('?');
			out.append(std::string_view(" path="));
			path_names(out, e, ">", false);
			break;
		default:
			if (s.event != "state")
				fmt::format_to(it, "[{}] ", s.event);
			fmt::format_to(it, "{} -> {}", state_name(s.old_state), state_name(s.new_state));
			if (has_dur(e))
				fmt::format_to(it, " ({:.3f}ms)", e.dur_ns / 1e6);
			if (e.type == EV_TW_LEAVE)
				fmt::format_to(it, " cause={}", cause_name(e.cause));
		}
		out.push_back('\n');
	}

      private:
	static void endpoint(fmt::memory_buffer &out, unsigned family, const uint8_t *addr,
			     unsigned port)
	{
		if (family == AF_INET6)
			out.push_back('[');
		format_addr(out, family, addr);
		if (family == AF_INET6)
			out.push_back(']');
		fmt::format_to(std::back_inserter(out), ":{}", port);
	}

	Clock clock_;
};

} // namespace

std::unique_ptr<Formatter> make_formatter(OutputFormat f, const Clock &clock)
{
	switch (f) {
	case OutputFormat::json:
		return std::make_unique<JsonFormatter>(clock);
	case OutputFormat::csv:
		return std::make_unique<CsvFormatter>(clock);
	case OutputFormat::text:
		break;
	}
	return std::make_unique<TextFormatter>(clock);
}

} // namespace tcpscope
