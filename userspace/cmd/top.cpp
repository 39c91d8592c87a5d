// SPDX-License-Identifier: GPL-2.0
// `tcpscope top`: the aggregates of stats redrawn every interval on a full screen (plain ANSI
// sequences and termios, no curses), or as plain text blocks when stdout is not a terminal.
#include "cmd/top.h"

#include <fmt/format.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <optional>
#include <utility>

#include "event/states.h"
#include "output/event_format.h"
#include "cmd/stats.h"

namespace tcpscope {

namespace {

// The states ss shows, in the kernel's order, as stats lists them.
constexpr unsigned shown_states[] = {TCP_ESTABLISHED, TCP_SYN_SENT,   TCP_SYN_RECV, TCP_FIN_WAIT1,
				     TCP_FIN_WAIT2,   TCP_TIME_WAIT,  TCP_CLOSE_WAIT, TCP_LAST_ACK,
				     TCP_LISTEN,      TCP_CLOSING};
constexpr size_t nstates = std::size(shown_states);

// The layout is drawn for 80 columns; narrower screens cut every line.
constexpr size_t layout_cols = 80;
constexpr const char *quit_hint = "q: quit";

// A namespace that went away between two snapshots takes its counts with it: no negative
// rates.
uint64_t delta(uint64_t now, uint64_t then)
{
	return now >= then ? now - then : 0;
}

int64_t gauge(int64_t v)
{
	return v < 0 ? 0 : v; // a transition seen before the seed walk counted its socket
}

std::string per_second(uint64_t n, double dt)
{
	return dt > 0 ? fmt::format("{:.1f}", n / dt) : std::string("-");
}

std::string cell(std::string_view label, const std::string &value)
{
	return fmt::format("{:<13}{:>11}", label, value);
}

std::string hms(double seconds)
{
	auto s = static_cast<uint64_t>(seconds > 0 ? seconds : 0);
	return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

std::string fit(std::string s, size_t cols)
{
	if (s.size() > cols)
		s.resize(cols);
	s.erase(s.find_last_not_of(' ') + 1);
	return s;
}

std::string title(const Snapshot &now, const TopOptions &o, const TopScreen &screen)
{
	std::string t = fmt::format("tcpscope top  {}  every {:g}s  up {}",
				    o.netns ? fmt::format("netns {}", *o.netns) : "all netns",
				    o.interval, hms(now.uptime));
	size_t width = std::min(screen.cols, layout_cols);
	size_t hint = strlen(quit_hint);

	if (screen.keys && t.size() + 2 + hint <= width)
		t += std::string(width - hint - t.size(), ' ') + quit_hint;
	return t;
}

struct TransitionRow {
	unsigned from, to;
	uint64_t delta, total;
};

} // namespace

std::vector<std::string> render_top(const Snapshot &now, const Snapshot *prev,
				    const TopOptions &o, const TopScreen &screen)
{
	const Agg a = total(now, o.netns);
	const Agg p = prev ? total(*prev, o.netns) : Agg{};
	const double dt = prev ? now.uptime - prev->uptime : 0;
	auto rate = [&](uint64_t n, uint64_t then) { return per_second(delta(n, then), dt); };
	std::vector<std::string> lines;

	lines.push_back(title(now, o, screen));
	if (now.agent.conn_full || now.agent.agg_full)
		lines.push_back(fmt::format("WARNING: kernel tables full: {} connections "
					    "untracked, {} changes not aggregated",
					    now.agent.conn_full, now.agent.agg_full));

	uint64_t left = 0, left_then = 0, closed = 0, closed_then = 0;
	for (int c = 0; c < TCPSCOPE_NCAUSE; c++) {
		left += a.tw_left[c];
		left_then += p.tw_left[c];
	}
	for (int op = 0; op < TCPSCOPE_NOPEN; op++)
		for (int c = 0; c < TCPSCOPE_NCLOSE; c++) {
			closed += a.conns[op][c];
			closed_then += p.conns[op][c];
		}
	lines.push_back(cell("TIME_WAIT", std::to_string(gauge(a.sockets[TCP_TIME_WAIT]))) + "  " +
			cell("entered/s", rate(a.tw_entered, p.tw_entered)) + "  " +
			cell("left/s", rate(left, left_then)));
	auto left_by = [&](int cause) { return rate(a.tw_left[cause], p.tw_left[cause]); };
	lines.push_back(cell("left timer/s", left_by(TW_CAUSE_TIMER)) + "  " +
			cell("left kill/s", left_by(TW_CAUSE_KILL)) + "  " +
			cell("left netns/s", left_by(TW_CAUSE_NETNS)));
	lines.push_back(cell("keepalive/s", rate(a.keepalive_probes, p.keepalive_probes)) + "  " +
			cell("closed/s", rate(closed, closed_then)));
	lines.emplace_back();

	// Busiest first (over the interval; since start in the first frame); equal counts keep
	// the kernel's state order so that rows do not jump about.
	std::vector<TransitionRow> trans;
	for (unsigned f = 0; f < TCPSCOPE_NSTATES; f++)
		for (unsigned t = 0; t < TCPSCOPE_NSTATES; t++) {
			uint64_t n = a.transitions[f][t];
			if (n)
				trans.push_back({f, t, delta(n, p.transitions[f][t]), n});
		}
	std::stable_sort(trans.begin(), trans.end(), [](const auto &x, const auto &y) {
		return x.delta > y.delta;
	});

	auto by_tw = busiest_ports(now, prev, PortOrder::timewait, o.ports, o.netns);
	std::vector<PortRow> by_accepted;
	if (dt > 0)
		by_accepted = busiest_ports(now, prev, PortOrder::accepted, o.ports, o.netns);

	// Rows left after the fixed lines (the two headers and the blank before the ports)
	// go to the states, then the ports, then transitions beyond the states; in a short
	// screen the ports keep one row and the states give way.
	const size_t fixed = lines.size() + 3;
	const size_t avail = screen.rows > fixed ? screen.rows - fixed : 0;
	const size_t ports_want = std::max(by_tw.size(), by_accepted.size());
	const size_t nports =
		std::min(ports_want, avail > nstates ? avail - nstates : size_t(avail > 0));
	const size_t mid = std::min(std::max(nstates, trans.size()), avail - nports);

	lines.push_back(fmt::format("{:<12}{:>8}    {:<12}{:<12}{:>10}{:>14}", "STATE", "SOCKETS",
				    "FROM", "TO", "RATE/s", "TOTAL"));
	for (size_t i = 0; i < mid; i++) {
		unsigned st = i < nstates ? shown_states[i] : 0;
		std::string l = st ? fmt::format("{:<12}{:>8}    ", state_name(st),
						 gauge(a.sockets[st]))
				   : std::string(24, ' ');
		if (i < trans.size())
			l += fmt::format("{:<12}{:<12}{:>10}{:>14}", state_name(trans[i].from),
					 state_name(trans[i].to), per_second(trans[i].delta, dt),
					 trans[i].total);
		lines.push_back(l);
	}
	lines.emplace_back();
	lines.push_back(fmt::format("{:<8}{:>12}    {:<8}{:>12}", "LPORT", "TIME_WAIT", "LPORT",
				    "ACCEPTED/s"));
	for (size_t i = 0; i < nports; i++) {
		const PortRow *tw = i < by_tw.size() ? &by_tw[i] : nullptr;
		std::string l = tw ? fmt::format("{:<8}{:>12}    ", tw->port, tw->timewait)
				   : std::string(24, ' ');
		if (i < by_accepted.size())
			l += fmt::format("{:<8}{:>12}", by_accepted[i].port,
					 per_second(by_accepted[i].accepted, dt));
		lines.push_back(l);
	}

	for (auto &l : lines)
		l = fit(std::move(l), screen.cols);
	if (lines.size() > screen.rows)
		lines.resize(screen.rows);
	return lines;
}

namespace {

// Signals come from a signalfd, polled with the keys: no handler, no flag to check
// between a test and the wait. The old mask is back when it goes.
class SignalFd {
      public:
	static Result<SignalFd> open(std::initializer_list<int> signals)
	{
		SignalFd s;
		sigset_t set;

		sigemptyset(&set);
		for (int sig : signals)
			sigaddset(&set, sig);
		if (sigprocmask(SIG_BLOCK, &set, &s.old_) < 0)
			return sys_error("block", "signals", errno);
		s.fd_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
		if (s.fd_ < 0) {
			int err = errno;
			sigprocmask(SIG_SETMASK, &s.old_, nullptr);
			return sys_error("create", "signalfd", err);
		}
		return s;
	}
	SignalFd(SignalFd &&o) noexcept : fd_(std::exchange(o.fd_, -1)), old_(o.old_) {}
	~SignalFd()
	{
		if (fd_ >= 0) {
			close(fd_);
			sigprocmask(SIG_SETMASK, &old_, nullptr);
		}
	}
	SignalFd(const SignalFd &) = delete;
	SignalFd &operator=(const SignalFd &) = delete;
	SignalFd &operator=(SignalFd &&) = delete;

	int fd() const { return fd_; }

	// The next pending signal, 0 if none.
	int take() const
	{
		struct signalfd_siginfo si;
		if (read(fd_, &si, sizeof(si)) != sizeof(si))
			return 0;
		return static_cast<int>(si.ssi_signo);
	}

      private:
	SignalFd() = default;
	int fd_ = -1;
	sigset_t old_ = {};
};

// The alternate screen, cleared, without a cursor; and back.
constexpr const char *enter_seq = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";
constexpr const char *leave_seq = "\x1b[?25h\x1b[?1049l";

// The terminal in full-screen mode while this lives: alternate screen, hidden cursor, and
// keys read one by one without echo when stdin is a terminal (ISIG stays: Ctrl-C is still
// SIGINT). The destructor puts everything back, so every way out of run_top() does.
class FullScreen {
      public:
	FullScreen()
	{
		keys_ = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_) == 0;
		enter();
	}
	~FullScreen() { leave(); }
	FullScreen(const FullScreen &) = delete;
	FullScreen &operator=(const FullScreen &) = delete;

	bool keys() const { return keys_; }

	void enter()
	{
		if (keys_) {
			struct termios raw = saved_;
			raw.c_lflag &= ~(ICANON | ECHO);
			raw.c_cc[VMIN] = 1;
			raw.c_cc[VTIME] = 0;
			if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
				keys_ = false;
		}
		write_stdout(enter_seq); // a failure shows at the first frame
		active_ = true;
	}

	// Errors are ignored: the terminal may be gone, and this is the way out.
	void leave()
	{
		if (!active_)
			return;
		write_stdout(leave_seq);
		if (keys_)
			tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
		active_ = false;
	}

      private:
	bool keys_ = false;
	bool active_ = false;
	struct termios saved_ = {};
};

TopScreen terminal_size(bool keys)
{
	TopScreen s;
	struct winsize ws;

	s.keys = keys;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
		s.cols = ws.ws_col;
		s.rows = ws.ws_row;
	}
	return s;
}

// Every row is placed and cleared on its own: nothing scrolls, nothing depends on where
// the cursor was or on how the terminal wraps at the last column.
std::string frame(const std::vector<std::string> &lines, size_t rows)
{
	std::string out;

	for (size_t i = 0; i < lines.size(); i++)
		out += fmt::format("\x1b[{};1H\x1b[2K{}", i + 1, lines[i]);
	if (lines.size() < rows)
		out += fmt::format("\x1b[{};1H\x1b[J", lines.size() + 1);
	return out;
}

std::string block(const std::vector<std::string> &lines, bool first)
{
	std::string out = first ? "" : "\n";

	for (const auto &l : lines)
		out += l + "\n";
	return out;
}

// A failed write of a frame: nullopt when the reader went away (a closed pipe, a hung-up
// terminal), which is a normal end.
std::optional<Error> write_failed(int err)
{
	if (err == EPIPE || err == EIO)
		return std::nullopt;
	return sys_error("write", "standard output", err);
}

// Refreshes until the end; nullopt for a normal end (exit 0).
std::optional<Error> loop(const Tracer &t, const TopOptions &o, const SignalFd &sig,
			  FullScreen *fs)
{
	using clock = std::chrono::steady_clock;
	const auto start = clock::now();
	const auto step = std::chrono::duration_cast<clock::duration>(
		std::chrono::duration<double>(o.interval));
	auto uptime = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };
	bool keys = fs && fs->keys();
	TopScreen screen = fs ? terminal_size(keys)
			      : TopScreen{layout_cols, std::numeric_limits<size_t>::max(), false};
	std::optional<Snapshot> prev;
	Snapshot now = snapshot(t, uptime(), true);
	auto next = start + step;

	// The terminal gets a first frame at once (gauges, no rates yet); plain output only
	// blocks with rates, one per refresh.
	auto draw = [&](uint64_t n) {
		auto lines = render_top(now, prev ? &*prev : nullptr, o, screen);
		return write_stdout(fs ? frame(lines, screen.rows) : block(lines, n == 1));
	};

	if (fs)
		if (int err = draw(0))
			return write_failed(err);
	for (uint64_t n = 0;;) {
		auto left = std::chrono::ceil<std::chrono::milliseconds>(next - clock::now());
		int timeout = static_cast<int>(std::clamp<int64_t>(left.count(), 0, 1000));
		struct pollfd pfd[2] = {{sig.fd(), POLLIN, 0},
					{keys ? STDIN_FILENO : -1, POLLIN, 0}};

		if (poll(pfd, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return sys_error("poll", "signals and keys", errno);
		}
		for (int s; (pfd[0].revents & POLLIN) && (s = sig.take());) {
			if (s == SIGWINCH) {
				screen = terminal_size(keys);
			} else if (s == SIGTSTP) {
				// Ctrl-Z: the shell gets its terminal back while we are stopped
				fs->leave();
				raise(SIGSTOP);
				fs->enter();
				screen = terminal_size(keys);
			} else {
				return std::nullopt; // SIGINT, SIGTERM, SIGHUP, SIGQUIT
			}
			if (int err = draw(n))
				return write_failed(err);
		}
		if (pfd[1].revents) {
			char buf[64];
			ssize_t k = read(STDIN_FILENO, buf, sizeof(buf));
			if (k > 0 && (memchr(buf, 'q', k) || memchr(buf, 'Q', k)))
				return std::nullopt;
			if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN))
				keys = false; // no keyboard any more; signals still end it
		}
		if (clock::now() < next)
			continue;
		prev = std::move(now);
		now = snapshot(t, uptime(), true);
		if (int err = draw(++n))
			return write_failed(err);
		if (o.count && n >= o.count)
			return std::nullopt;
		next += step;
		if (next <= clock::now()) // stopped or slow: no burst of catch-up frames
			next = clock::now() + step;
	}
}

} // namespace

int run_top(const TopOptions &o)
{
	signal(SIGPIPE, SIG_IGN);

	auto tracer = open_aggregator(o.verbose);
	if (!tracer)
		return 1;
	const bool tty = isatty(STDOUT_FILENO);
	auto sig = tty ? SignalFd::open({SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP})
		       : SignalFd::open({SIGINT, SIGTERM});
	if (!sig) {
		fprintf(stderr, "tcpscope: %s\n", sig.error().message().c_str());
		return 1;
	}
	std::optional<Error> err;
	{
		std::optional<FullScreen> fs;
		if (tty)
			fs.emplace();
		err = loop(*tracer, o, *sig, fs ? &*fs : nullptr);
	} // the terminal is restored before anything is printed
	if (err) {
		fprintf(stderr, "tcpscope: %s\n", err->message().c_str());
		return 1;
	}
	return 0;
}

} // namespace tcpscope
