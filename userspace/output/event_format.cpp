// SPDX-License-Identifier: GPL-2.0
// Text, JSON and CSV rendering of events. Appends to a caller's buffer: no allocation per
// event on the hot path, and no format string to parse either (fmt's runtime parser was most
// of the cost): each field is copied or converted in place, exactly as "{}" would print it.
#include "output/event_format.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <iterator>
#include <utility>

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
	{}
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
					  v < 0 ? 0 - uint64_t(v) : uint64_t(v))
				    .ptr;
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
	return !(e.flags & TCPSCOPE_EVF_NO_OWNER);
}

bool has_dur(const RawEvent &e)
{
	return !(e.flags & TCPSCOPE_EVF_NO_DUR);
}

// The socket's counters, when the record has them.
const SockStats *stats_of(const RawEvent &e)
{
	const SockEvent *x = sock_event(e);

	return x && !(e.flags & TCPSCOPE_EVF_NO_STATS) ? &x->stats : nullptr;
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
		// a time no kernel clock reaches (a record's bytes are outside input) is held to
		// 1970..2262 rather than overflowing (found by tools/fuzz/fuzz_record)
		int64_t ns;
		if (ts_ns > uint64_t(INT64_MAX) ||
		    __builtin_add_overflow(static_cast<int64_t>(ts_ns), realtime_off_, &ns))
			ns = realtime_off_ < 0 && ts_ns <= uint64_t(INT64_MAX) ? 0 : INT64_MAX;
		if (ns < 0)
			ns = 0;
		time_t secs = ns / 1000000000;

		if (!valid_ || secs != secs_ || iso != iso_) {
			struct tm *ok = iso ? gmtime_r(&secs, &tm_) : localtime_r(&secs, &tm_);
			if (!ok)
				tm_ = {};
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

// An TCPSCOPE_EV_CONN's state path, names separated by sep, "..." when it was cut.
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
	if (e.facts & TCPSCOPE_F_PATH_TRUNC) {
		w.ch(sep);
		w.str(quote ? "\"...\"" : "...");
	}
}

// Whether a field has a value in a record: JSON writes null for an unknown one and leaves out
// one that does not apply; CSV leaves the cell empty either way.
enum class Has { value, unknown, none };

inline Has has_if(bool applies, bool known = true)
{
	return !applies ? Has::none : known ? Has::value : Has::unknown;
}

// A field's name as a template argument: each encoder builds what it writes around it at
// compile time (JSON: ,"name": as one constant piece).
template <size_t N> struct Key {
	char name[N];

	constexpr Key(const char (&s)[N]) { std::copy_n(s, N, name); }
	constexpr std::string_view view() const { return {name, N - 1}; }
};

// ,"name": (quote: ,"name":" with the value's opening quote), built at compile time.
template <Key K, bool quote> constexpr auto json_key()
{
	constexpr std::string_view n = K.view();
	std::array<char, n.size() + 4 + quote> k{};
	size_t i = 0;

	k[i++] = ',';
	k[i++] = '"';
	for (char c : n)
		k[i++] = c;
	k[i++] = '"';
	k[i++] = ':';
	if (quote)
		k[i++] = '"';
	return k;
}

// The one walk over a record's fields, in the order of the CSV columns and the JSON keys:
// each encoder (JSON, CSV, the CSV header) renders the fields it is handed. A flag is a
// JSON key only when set, a CSV column of 0 or 1 always.
template <class Encoder>
[[gnu::always_inline]] inline void walk_fields(const FoldedEvent &s, Encoder &enc)
{
	const RawEvent &e = *s.raw;
	const bool conn = e.type == TCPSCOPE_EV_CONN;
	const Has owner = has_if(true, has_owner(e));
	const SockEvent *x = sock_event(e);
	const SockStats *st = stats_of(e);
	const SockStats none{};
	const SockStats &c = st ? *st : none;
	const Has counted = has_if(x, st);

	enc.begin(s.name); // "event", the first field
	enc.template num<"ts_ns">(e.ts_ns, Has::value);
	enc.template time<"time">(e.ts_ns); // -T only
	enc.template num<"cookie">(e.cookie, Has::value);
	enc.template str<"family">(family_name(e), Has::value);
	enc.template addr<"saddr">(e.family, e.saddr);
	enc.template num<"sport">(e.sport, Has::value);
	enc.template addr<"daddr">(e.family, e.daddr);
	enc.template num<"dport">(e.dport, Has::value);
	enc.template str<"old">(state_name(s.old_state), has_if(!conn));
	enc.template str<"new">(state_name(s.new_state), has_if(!conn));
	enc.template num<"dur_us">(e.dur_ns / 1000, has_if(!conn, has_dur(e)));
	enc.template num<"pid">(e.pid, owner);
	enc.template comm<"comm">(comm_of(e), owner);
	enc.template num<"cgroup">(e.cgroup, owner);
	enc.template num<"netns">(e.netns, Has::value);
	enc.template flag<"late">(e.flags & TCPSCOPE_EVF_LATE);
	enc.template str<"cause">(cause_name(e.cause), has_if(e.type == TCPSCOPE_EV_TW_LEAVE));
	enc.template num<"probe">(e.probes, has_if(e.type == TCPSCOPE_EV_KEEPALIVE));
	enc.template str<"open">(open_name(e.open), has_if(conn));
	enc.template str<"handshake">(handshake_name(e.handshake), has_if(conn));
	enc.template str<"close">(close_name(e.close), has_if(conn));
	enc.template path<"path">(e, has_if(conn));
	enc.template num<"lifetime_us">(e.lifetime_ns / 1000, has_if(conn, has_dur(e)));
	enc.template num<"keepalive_probes">(e.probes, has_if(conn));
	enc.template num<"bytes_acked">(c.bytes_acked, counted);
	enc.template num<"bytes_received">(c.bytes_received, counted);
	enc.template num<"segs_out">(c.segs_out, counted);
	enc.template num<"segs_in">(c.segs_in, counted);
	enc.template num<"total_retrans">(c.total_retrans, counted);
	enc.template num<"srtt_us">(c.srtt_us, counted);
	enc.template num<"ino">(x ? x->ino : 0,
				has_if(e.type == TCPSCOPE_EV_SNAPSHOT, x && x->ino));
	enc.end();
}

// One JSON object a line: {"event":"state","ts_ns":...}. Keys are literals: each is put with
// its punctuation in one piece.
class JsonEncoder {
      public:
	JsonEncoder(Writer &w, WallClock &wall, bool with_time)
		: w_(w), wall_(wall), time_(with_time)
	{}

	[[gnu::always_inline]] void begin(std::string_view event)
	{
		w_.str("{\"event\":\"");
		quoted_tail(event);
	}
	[[gnu::always_inline]] void end() { w_.str("}\n"); }

	template <Key K> [[gnu::always_inline]] void num(uint64_t v, Has has)
	{
		if (key<K>(has))
			w_.num(v);
	}
	template <Key K> [[gnu::always_inline]] void str(std::string_view v, Has has)
	{
		if (has != Has::value) {
			key<K>(has); // null or nothing
			return;
		}
		quoted_key<K>();
		quoted_tail(v);
	}
	template <Key K> [[gnu::always_inline]] void time(uint64_t ts_ns)
	{
		if (!time_)
			return;
		quoted_key<K>();
		wall_.put(w_, ts_ns, true);
		w_.ch('"');
	}
	template <Key K> [[gnu::always_inline]] void addr(unsigned family, const uint8_t *a)
	{
		quoted_key<K>();
		char *p = w_.room(INET6_ADDRSTRLEN + 1);
		p = family == AF_INET6 ? ipv6_chars(p, a) : ipv4_chars(p, a);
		*p++ = '"';
		w_.advance(p);
	}
	template <Key K> [[gnu::always_inline]] void comm(std::string_view v, Has has)
	{
		if (key<K>(has))
			json_string(w_, v);
	}
	template <Key K> [[gnu::always_inline]] void path(const RawEvent &e, Has has)
	{
		if (!key<K>(has))
			return;
		w_.ch('[');
		path_names(w_, e, ',', true);
		w_.ch(']');
	}
	template <Key K> [[gnu::always_inline]] void flag(bool set)
	{
		if (key<K>(set ? Has::value : Has::none))
			w_.str("true");
	}

      private:
	// ,"key": then true when a value follows; null for an unknown value, nothing for none.
	template <Key K> [[gnu::always_inline]] bool key(Has has)
	{
		static constexpr auto k = json_key<K, false>();

		if (has == Has::none)
			return false;
		w_.str({k.data(), k.size()});
		if (has == Has::unknown) {
			w_.str("null");
			return false;
		}
		return true;
	}
	// ,"key":" (the opening quote of the value too)
	template <Key K> [[gnu::always_inline]] void quoted_key()
	{
		static constexpr auto k = json_key<K, true>();

		w_.str({k.data(), k.size()});
	}
	// v" (a value without characters to escape, and its closing quote)
	[[gnu::always_inline]] void quoted_tail(std::string_view v)
	{
		char *p = w_.room(v.size() + 1);
		std::memcpy(p, v.data(), v.size());
		p[v.size()] = '"';
		w_.advance(p + v.size() + 1);
	}

	Writer &w_;
	WallClock &wall_;
	bool time_;
};

// One CSV row: every column, empty where the record has no value; comm CSV-quoted.
class CsvEncoder {
      public:
	CsvEncoder(Writer &w, WallClock &wall, bool with_time)
		: w_(w), wall_(wall), time_(with_time)
	{}

	[[gnu::always_inline]] void begin(std::string_view event) { w_.str(event); }
	[[gnu::always_inline]] void end() { w_.ch('\n'); }

	template <Key> [[gnu::always_inline]] void num(uint64_t v, Has has)
	{
		w_.ch(',');
		if (has == Has::value)
			w_.num(v);
	}
	template <Key> [[gnu::always_inline]] void str(std::string_view v, Has has)
	{
		w_.ch(',');
		if (has == Has::value)
			w_.str(v);
	}
	template <Key> [[gnu::always_inline]] void time(uint64_t ts_ns)
	{
		w_.ch(',');
		if (time_)
			wall_.put(w_, ts_ns, true);
	}
	template <Key> [[gnu::always_inline]] void addr(unsigned family, const uint8_t *a)
	{
		w_.ch(',');
		put_addr(w_, family, a);
	}
	// comm is bytes: always quoted, quotes doubled, a backslash and every byte outside
	// printable ASCII as \xHH, so the file is ASCII any CSV reader takes
	template <Key> [[gnu::always_inline]] void comm(std::string_view v, Has has)
	{
		w_.ch(',');
		if (has != Has::value)
			return;
		char *p = w_.room(4 * v.size() + 2);
		*p++ = '"';
		for (char ch : v) {
			auto u = static_cast<unsigned char>(ch);
			if (u < 0x20 || u >= 0x7f || ch == '\\') {
				*p++ = '\\';
				*p++ = 'x';
				*p++ = kHex[u >> 4];
				*p++ = kHex[u & 0xf];
				continue;
			}
			if (ch == '"')
				*p++ = '"';
			*p++ = ch;
		}
		*p++ = '"';
		w_.advance(p);
	}
	template <Key> [[gnu::always_inline]] void path(const RawEvent &e, Has has)
	{
		w_.ch(',');
		if (has == Has::value)
			path_names(w_, e, '>', false);
	}
	template <Key> [[gnu::always_inline]] void flag(bool set)
	{
		w_.ch(',');
		w_.ch(set ? '1' : '0');
	}

      private:
	Writer &w_;
	WallClock &wall_;
	bool time_;
};

// The CSV header: the names of the walk's columns.
class CsvHeader {
      public:
	explicit CsvHeader(Writer &w) : w_(w) {}

	void begin(std::string_view) { w_.str("event"); }
	void end() { w_.ch('\n'); }
	template <Key K> void num(uint64_t, Has) { column(K.view()); }
	template <Key K> void str(std::string_view, Has) { column(K.view()); }
	template <Key K> void time(uint64_t) { column(K.view()); }
	template <Key K> void addr(unsigned, const uint8_t *) { column(K.view()); }
	template <Key K> void comm(std::string_view, Has) { column(K.view()); }
	template <Key K> void path(const RawEvent &, Has) { column(K.view()); }
	template <Key K> void flag(bool) { column(K.view()); }

      private:
	void column(std::string_view key)
	{
		w_.ch(',');
		w_.str(key);
	}

	Writer &w_;
};

class JsonFormatter : public Formatter {
      public:
	explicit JsonFormatter(const Clock &c) : clock_(c), wall_(c) {}
	void header(fmt::memory_buffer &) override {}
	void event(const FoldedEvent &s, fmt::memory_buffer &out) override
	{
		Writer w(out);
		JsonEncoder enc(w, wall_, clock_.wall);

		walk_fields(s, enc);
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
		const RawEvent any{};
		Writer w(out);
		CsvHeader enc(w);

		walk_fields(FoldedEvent{&any, {}, 0, 0}, enc);
	}
	void event(const FoldedEvent &s, fmt::memory_buffer &out) override
	{
		Writer w(out);
		CsvEncoder enc(w, wall_, clock_.wall);

		walk_fields(s, enc);
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
			double rel =
				e.ts_ns >= clock_.start_ns ? (e.ts_ns - clock_.start_ns) / 1e9 : 0;
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
		case TCPSCOPE_EV_KEEPALIVE:
			w.str("keepalive probe #");
			w.num(e.probes);
			w.str(" in ");
			w.str(state_name(s.old_state));
			break;
		case TCPSCOPE_EV_CONN:
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
			counters(w, e);
			w.str(" path=");
			path_names(w, e, '>', false);
			break;
		case TCPSCOPE_EV_SNAPSHOT:
			w.str("snapshot ");
			w.str(state_name(s.new_state));
			duration(w, e);
			counters(w, e);
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
			duration(w, e);
			if (e.type == TCPSCOPE_EV_TW_LEAVE) {
				w.str(" cause=");
				w.str(cause_name(e.cause));
			}
		}
		w.ch('\n');
	}

      private:
	// " (D.DDDms)": dur_ns, when known
	static void duration(Writer &w, const RawEvent &e)
	{
		if (!has_dur(e))
			return;
		w.str(" (");
		fixed(w, e.dur_ns / 1e6, 3);
		w.str("ms)");
	}

	// " bytes_acked=N ... srtt_us=N", " stats=?" when unknown, nothing for a snapshot of a
	// socket that has none (a listener, a timewait socket)
	static void counters(Writer &w, const RawEvent &e)
	{
		const SockStats *st = stats_of(e);

		if (!st) {
			if (e.type == TCPSCOPE_EV_CONN)
				w.str(" stats=?");
			return;
		}
		const std::pair<std::string_view, uint64_t> fields[] = {
			{" bytes_acked=", st->bytes_acked},
			{" bytes_received=", st->bytes_received},
			{" segs_out=", st->segs_out},
			{" segs_in=", st->segs_in},
			{" total_retrans=", st->total_retrans},
			{" srtt_us=", st->srtt_us}};
		for (const auto &[key, value] : fields) {
			w.str(key);
			w.num(value);
		}
	}

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
