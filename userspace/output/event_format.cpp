// SPDX-License-Identifier: GPL-2.0
// Text, JSON and CSV rendering of events. Appends to a caller's buffer: no allocation per
// event on the hot path, and no format string to parse either (fmt's runtime parser was most
// of the cost): each field is copied or converted in place, exactly as "{}" would print it.
#include "output/event_format.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <iterator>

#include "event/states.h"

namespace tcpscope {

namespace {

constexpr char kHex[] = "0123456789abcdef";

// "a.b.c.d" at p, by hand: inet_ntop() goes through sprintf, a third of JSON's cost.
char *ipv4_chars(char *p, const uint8_t *addr)
{
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
	return p;
}

// An IPv6 address at p, spelt as glibc's inet_ntop() does (the first longest run of two or
// more zero groups as "::", a dotted tail for ::a.b.c.d and ::ffff:a.b.c.d) without its
// sprintf("%x") per group.
char *ipv6_chars(char *p, const uint8_t *addr)
{
	unsigned w[8];
	int best = -1, best_len = 0, run = -1;

	for (int i = 0; i < 8; i++)
		w[i] = unsigned(addr[2 * i]) << 8 | addr[2 * i + 1];
	for (int i = 0; i <= 8; i++) {
		if (i < 8 && w[i] == 0) {
			if (run < 0)
				run = i;
		} else if (run >= 0) {
			if (i - run > best_len)
				best = run, best_len = i - run;
			run = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				*p++ = ':';
			continue;
		}
		if (i)
			*p++ = ':';
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)))
			return ipv4_chars(p, addr + 12);
		int shift = 12; // "%x": no leading zeros
		while (shift && !(w[i] >> shift))
			shift -= 4;
		for (; shift >= 0; shift -= 4)
			*p++ = kHex[(w[i] >> shift) & 0xf];
	}
	if (best >= 0 && best + best_len == 8)
		*p++ = ':';
	return p;
}

} // namespace

void format_addr(fmt::memory_buffer &out, unsigned family, const uint8_t *addr)
{
	char buf[INET6_ADDRSTRLEN];

	out.append(buf, family == AF_INET6 ? ipv6_chars(buf, addr) : ipv4_chars(buf, addr));
}

namespace {

// Appends one record to a memory_buffer through a raw cursor: each piece checks the room
// left, then is copied or converted in place. The buffer's size is set when it goes away.
class Writer {
      public:
	explicit Writer(fmt::memory_buffer &b)
		: buf_(b), p_(b.data() + b.size()), end_(b.data() + b.capacity())
	{
	}
	~Writer() { buf_.resize(mark()); }
	Writer(const Writer &) = delete;
	Writer &operator=(const Writer &) = delete;

	// A cursor with at least n bytes free after it; advance() to the end of what was put.
	[[gnu::always_inline]] char *room(size_t n)
	{
		if (size_t(end_ - p_) < n)
			grow(n);
		return p_;
	}
	void advance(char *p) { p_ = p; }

	// Bytes in the buffer: where a field starts, for pad() (survives the buffer moving).
	size_t mark() const { return size_t(p_ - buf_.data()); }

	// s as "{}" prints it; for a literal the length is a constant: a few moves, no call.
	[[gnu::always_inline]] void str(std::string_view s)
	{
		std::memcpy(room(s.size()), s.data(), s.size());
		p_ += s.size();
	}

	[[gnu::always_inline]] void ch(char c)
	{
		*room(1) = c;
		p_++;
	}

	// v as "{}" prints it.
	void num(uint64_t v)
	{
		char *p = room(20);
		p_ = std::to_chars(p, p + 20, v).ptr;
	}

	// v as "{:02}" or "{:06}" prints it: zero-padded, a minus sign counting in the width.
	void num0(int64_t v, int width)
	{
		char digits[20];
		char *end = std::to_chars(digits, digits + sizeof(digits),
					  v < 0 ? 0 - uint64_t(v) : uint64_t(v)).ptr;
		int zeros = width - int(v < 0) - int(end - digits);

		if (v < 0)
			ch('-');
		if (zeros > 0) {
			std::memset(room(size_t(zeros)), '0', size_t(zeros));
			p_ += zeros;
		}
		str(std::string_view(digits, size_t(end - digits)));
	}

	// Spaces after the field that starts at mark, up to width, as "{:<15}" pads ASCII.
	void pad(size_t mark, size_t width)
	{
		size_t n = this->mark() - mark;

		if (n < width) {
			std::memset(room(width - n), ' ', width - n);
			p_ += width - n;
		}
	}

	// ASCII s right-aligned in width, as "{:>21}" prints it.
	void right(std::string_view s, size_t width)
	{
		if (s.size() < width) {
			std::memset(room(width - s.size()), ' ', width - s.size());
			p_ += width - s.size();
		}
		str(s);
	}

      private:
	// Out of line: the buffer grows rarely, the checks are on every piece.
	[[gnu::noinline]] void grow(size_t n)
	{
		const size_t used = mark();

		buf_.resize(used); // what reserve() copies when the storage moves
		buf_.reserve(used + n);
		p_ = buf_.data() + used;
		end_ = buf_.data() + buf_.capacity();
	}

	fmt::memory_buffer &buf_;
	char *p_, *end_;
};

// The task name: comm up to its NUL, if any.
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

// format_addr() straight into the record.
void put_addr(Writer &w, unsigned family, const uint8_t *addr)
{
	char *p = w.room(INET6_ADDRSTRLEN);

	w.advance(family == AF_INET6 ? ipv6_chars(p, addr) : ipv4_chars(p, addr));
}

// d (>= 0) to prec decimals, as "{:.3f}" or "{:.6f}" prints it: fmt takes ~130 ns for that, so
// the exact binary value m / 2^shift is scaled and rounded in integers. Exact ties (0.0625
// to 3 decimals), and values outside 2^-68..2^40 that the integer path does not cover, are
// left to fmt.
void fixed(Writer &w, double d, int prec)
{
	static constexpr uint64_t pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
	const uint64_t bits = std::bit_cast<uint64_t>(d);
	const int exp = int(bits >> 52); // biased; with the sign bit set it is out of range
	bool exact = bits == 0;
	uint64_t q = 0;

	if (exp >= 1023 - 68 && exp < 1023 + 40) {
		using u128 = unsigned __int128;
		const int shift = 1075 - exp; // 13..123
		const u128 v = u128((bits & ((1ull << 52) - 1)) | 1ull << 52) * pow10[prec];
		const u128 half = u128(1) << (shift - 1), rem = v & ((half << 1) - 1);

		q = uint64_t(v >> shift) + (rem > half);
		exact = rem != half;
	}
	if (!exact) {
		fmt::memory_buffer t;
		fmt::format_to(std::back_inserter(t), "{:.{}f}", d, prec);
		w.str(std::string_view(t.data(), t.size()));
		return;
	}

	char *p = w.room(21 + size_t(prec));
	uint64_t frac = q % pow10[prec];

	p = std::to_chars(p, p + 20, q / pow10[prec]).ptr;
	*p++ = '.';
	for (int i = prec; i > 0; i--, frac /= 10)
		p[i - 1] = char('0' + frac % 10);
	w.advance(p + prec);
}

// -T times. gmtime_r() and localtime_r() cost 40-100 ns and events come many per second:
// the broken-down time of the last second is kept.
class WallClock {
      public:
	explicit WallClock(const Clock &c) : realtime_off_(c.realtime_off) {}

	// "2023-11-14T22:13:20.123456Z" (iso: UTC) or "22:13:20.123456" (local)
	void put(Writer &w, uint64_t ts_ns, bool iso)
	{
		int64_t ns = static_cast<int64_t>(ts_ns) + realtime_off_;
		time_t secs = ns / 1000000000;

		if (!valid_ || secs != secs_ || iso != iso_) {
			if (iso)
				gmtime_r(&secs, &tm_);
			else
				localtime_r(&secs, &tm_);
			valid_ = true;
			secs_ = secs;
			iso_ = iso;
		}
		if (iso) {
			w.num0(tm_.tm_year + 1900, 4);
			w.ch('-');
			w.num0(tm_.tm_mon + 1, 2);
			w.ch('-');
			w.num0(tm_.tm_mday, 2);
			w.ch('T');
		}
		w.num0(tm_.tm_hour, 2);
		w.ch(':');
		w.num0(tm_.tm_min, 2);
		w.ch(':');
		w.num0(tm_.tm_sec, 2);
		w.ch('.');
		w.num0((ns % 1000000000) / 1000, 6);
		if (iso)
			w.ch('Z');
	}

      private:
	int64_t realtime_off_;
	bool valid_ = false, iso_ = false;
	time_t secs_ = 0;
	struct tm tm_ = {};
};

// s as a JSON string, quotes included.
void json_string(Writer &w, std::string_view s)
{
	char *p = w.room(2 + 6 * s.size());

	*p++ = '"';
	for (char ch : s) {
		auto u = static_cast<unsigned char>(ch);
		if (ch == '"' || ch == '\\') {
			*p++ = '\\';
			*p++ = ch;
		} else if (u < 0x20 || u >= 0x7f) {
			// comm is bytes, not UTF-8: escape everything outside printable ASCII
			std::memcpy(p, "\\u00", 4);
			p[4] = kHex[u >> 4];
			p[5] = kHex[u & 0xf];
			p += 6;
		} else {
			*p++ = ch;
		}
	}
	*p++ = '"';
	w.advance(p);
}

// An EV_CONN's state path, names separated by sep, "..." when it was cut.
void path_names(Writer &w, const RawEvent &e, char sep, bool quote)
{
	for (unsigned i = 0; i < e.path_len && i < TCPSCOPE_PATH_MAX; i++) {
		if (i)
			w.ch(sep);
		if (quote)
			w.ch('"');
		w.str(state_name(path_state(e, i)));
		if (quote)
			w.ch('"');
	}
	if (e.facts & F_PATH_TRUNC) {
		w.ch(sep);
		w.str(quote ? "\"...\"" : "...");
	}
}

class JsonFormatter : public Formatter {
      public:
	explicit JsonFormatter(const Clock &c) : clock_(c), wall_(c) {}
	void header(fmt::memory_buffer &) override {}
	void event(const FoldedEvent &s, fmt::memory_buffer &out) override
	{
		const RawEvent &e = *s.raw;
		Writer w(out);

		w.str("{\"event\":\"");
		w.str(s.name);
		w.str("\",\"ts_ns\":");
		w.num(e.ts_ns);
		if (clock_.wall) {
			w.str(",\"time\":\"");
			wall_.put(w, e.ts_ns, true);
			w.ch('"');
		}
		w.str(",\"cookie\":");
		w.num(e.cookie);
		w.str(",\"family\":\"");
		w.str(family_name(e));
		w.str("\",\"saddr\":\"");
		put_addr(w, e.family, e.saddr);
		w.str("\",\"sport\":");
		w.num(e.sport);
		w.str(",\"daddr\":\"");
		put_addr(w, e.family, e.daddr);
		w.str("\",\"dport\":");
		w.num(e.dport);
		if (e.type != EV_CONN) {
			w.str(",\"old\":\"");
			w.str(state_name(s.old_state));
			w.str("\",\"new\":\"");
			w.str(state_name(s.new_state));
			w.ch('"');
			if (has_dur(e)) {
				w.str(",\"dur_us\":");
				w.num(e.dur_ns / 1000);
			} else {
				w.str(",\"dur_us\":null");
			}
		}
		if (has_owner(e)) {
			w.str(",\"pid\":");
			w.num(e.pid);
			w.str(",\"comm\":");
			json_string(w, comm_of(e));
			w.str(",\"cgroup\":");
			w.num(e.cgroup);
		} else {
			w.str(",\"pid\":null,\"comm\":null,\"cgroup\":null");
		}
		w.str(",\"netns\":");
		w.num(e.netns);
		if (e.flags & EVF_LATE)
			w.str(",\"late\":true");
		if (e.type == EV_TW_LEAVE) {
			w.str(",\"cause\":\"");
			w.str(cause_name(e.cause));
			w.ch('"');
		}
		if (e.type == EV_KEEPALIVE) {
			w.str(",\"probe\":");
			w.num(e.probes);
		}
		if (e.type == EV_CONN) {
			w.str(",\"open\":\"");
			w.str(open_name(e.open));
			w.str("\",\"handshake\":\"");
			w.str(handshake_name(e.handshake));
			w.str("\",\"close\":\"");
			w.str(close_name(e.close));
			w.str("\",\"path\":[");
			path_names(w, e, ',', true);
			w.ch(']');
			if (has_dur(e)) {
				w.str(",\"lifetime_us\":");
				w.num(e.lifetime_ns / 1000);
			} else {
				w.str(",\"lifetime_us\":null");
			}
			w.str(",\"keepalive_probes\":");
			w.num(e.probes);
		}
		w.str("}\n");
	}

      private:
	Clock clock_;
	WallClock wall_;
};

class CsvFormatter : public Formatter {
      public:
	explicit CsvFormatter(const Clock &c) : clock_(c), wall_(c) {}
	void header(fmt::memory_buffer &out) override
	{
		out.append(std::string_view(
			"event,ts_ns,time,cookie,family,saddr,sport,daddr,dport,old,new,dur_us,pid,"
			"comm,cgroup,netns,cause,probe,open,handshake,close,path,lifetime_us,"
			"keepalive_probes\n"));
	}
	void event(const FoldedEvent &s, fmt::memory_buffer &out) override
	{
		const RawEvent &e = *s.raw;
		const bool conn = e.type == EV_CONN;
		Writer w(out);

		w.str(s.name);
		w.ch(',');
		w.num(e.ts_ns);
		w.ch(',');
		if (clock_.wall)
			wall_.put(w, e.ts_ns, true);
		w.ch(',');
		w.num(e.cookie);
		w.ch(',');
		w.str(family_name(e));
		w.ch(',');
		put_addr(w, e.family, e.saddr);
		w.ch(',');
		w.num(e.sport);
		w.ch(',');
		put_addr(w, e.family, e.daddr);
		w.ch(',');
		w.num(e.dport);
		w.ch(',');
		if (!conn) {
			w.str(state_name(s.old_state));
			w.ch(',');
			w.str(state_name(s.new_state));
			w.ch(',');
			if (has_dur(e))
				w.num(e.dur_ns / 1000);
		} else {
			w.str(",,"); // old, new; dur_us follows
		}
		w.ch(',');
		if (has_owner(e)) {
			w.num(e.pid);
			w.str(",\"");
			// comm may hold a comma or quote: CSV-quote it
			std::string_view comm = comm_of(e);
			char *p = w.room(2 * comm.size());
			for (char ch : comm) {
				if (ch == '"')
					*p++ = '"';
				*p++ = ch;
			}
			w.advance(p);
			w.str("\",");
			w.num(e.cgroup);
		} else {
			w.str(",,");
		}
		w.ch(',');
		w.num(e.netns);
		w.ch(',');
		if (e.type == EV_TW_LEAVE)
			w.str(cause_name(e.cause));
		w.ch(',');
		if (e.type == EV_KEEPALIVE)
			w.num(e.probes);
		w.ch(',');
		if (conn) {
			w.str(open_name(e.open));
			w.ch(',');
			w.str(handshake_name(e.handshake));
			w.ch(',');
			w.str(close_name(e.close));
			w.ch(',');
			path_names(w, e, '>', false);
			w.ch(',');
			if (has_dur(e))
				w.num(e.lifetime_ns / 1000);
			w.ch(',');
			w.num(e.probes);
		} else {
			w.str(",,,,,");
		}
		w.ch('\n');
	}

      private:
	Clock clock_;
	WallClock wall_;
};

class TextFormatter : public Formatter {
      public:
	explicit TextFormatter(const Clock &c) : clock_(c), wall_(c) {}
	void header(fmt::memory_buffer &out) override
	{
		fmt::format_to(std::back_inserter(out), "{:<15} {:<7} {:<15} {:>21} {:>21} {}\n",
			       clock_.wall ? "TIME" : "TIME(s)", "PID", "COMM", "LADDR:LPORT",
			       "RADDR:RPORT", "EVENT");
	}
	void event(const FoldedEvent &s, fmt::memory_buffer &out) override
	{
		const RawEvent &e = *s.raw;
		Writer w(out);
		char a[64];
		size_t m = w.mark();

		if (clock_.wall) {
			wall_.put(w, e.ts_ns, false);
		} else {
			double rel = e.ts_ns >= clock_.start_ns ? (e.ts_ns - clock_.start_ns) / 1e9 : 0;
			fixed(w, rel, 6);
		}
		w.pad(m, 15);
		w.ch(' ');
		if (has_owner(e)) {
			m = w.mark();
			w.num(e.pid);
			w.pad(m, 7);
			w.ch(' ');
			comm(w, e);
		} else {
			w.str("-       -               "); // "{:<7} {:<15} " of "-", "-"
		}
		w.right(endpoint(a, e.family, e.saddr, e.sport), 21);
		w.ch(' ');
		w.right(endpoint(a, e.family, e.daddr, e.dport), 21);
		w.ch(' ');

		switch (e.type) {
		case EV_KEEPALIVE:
			w.str("keepalive probe #");
			w.num(e.probes);
			w.str(" in ");
			w.str(state_name(s.old_state));
			break;
		case EV_CONN:
			w.str("conn ");
			w.str(open_name(e.open));
			w.ch('/');
			w.str(handshake_name(e.handshake));
			w.str(" close=");
			w.str(close_name(e.close));
			w.str(" probes=");
			w.num(e.probes);
			w.str(" life=");
			if (has_dur(e)) {
				fixed(w, e.lifetime_ns / 1e6, 3);
				w.str("ms");
			} else {
				w.ch('?');
			}
			w.str(" path=");
			path_names(w, e, '>', false);
			break;
		default:
			if (s.name != "state") {
				w.ch('[');
				w.str(s.name);
				w.str("] ");
			}
			w.str(state_name(s.old_state));
			w.str(" -> ");
			w.str(state_name(s.new_state));
			if (has_dur(e)) {
				w.str(" (");
				fixed(w, e.dur_ns / 1e6, 3);
				w.str("ms)");
			}
			if (e.type == EV_TW_LEAVE) {
				w.str(" cause=");
				w.str(cause_name(e.cause));
			}
		}
		w.ch('\n');
	}

      private:
	// "1.2.3.4:80" or "[::1]:80" in buf (at most 54 bytes)
	static std::string_view endpoint(char *buf, unsigned family, const uint8_t *addr,
					 unsigned port)
	{
		char *p = buf;

		if (family == AF_INET6) {
			*p++ = '[';
			p = ipv6_chars(p, addr);
			*p++ = ']';
		} else {
			p = ipv4_chars(p, addr);
		}
		*p++ = ':';
		p = std::to_chars(p, p + 5, port).ptr;
		return {buf, size_t(p - buf)};
	}

	// The task name padded to 15 and a space; one event per line: no control characters.
	static void comm(Writer &w, const RawEvent &e)
	{
		char comm[sizeof(e.comm)];
		std::string_view raw = comm_of(e);
		bool ascii = true;

		for (size_t i = 0; i < raw.size(); i++) {
			auto u = static_cast<unsigned char>(raw[i]);
			// ' '..'~' are printable in every locale: no call into libc for them
			comm[i] = u - 0x20u < 0x5fu || std::isprint(u) ? raw[i] : '?';
			ascii &= static_cast<unsigned char>(comm[i]) < 0x80;
		}
		if (ascii) {
			size_t m = w.mark();
			w.str(std::string_view(comm, raw.size()));
			w.pad(m, 15);
		} else {
			// a locale where isprint() passes bytes >= 0x80: fmt pads by UTF-8 width
			fmt::memory_buffer t;
			fmt::format_to(std::back_inserter(t), "{:<15}",
				       std::string_view(comm, raw.size()));
			w.str(std::string_view(t.data(), t.size()));
		}
		w.ch(' ');
	}

	Clock clock_;
	WallClock wall_;
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
