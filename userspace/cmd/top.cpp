// SPDX-License-Identifier: GPL-2.0
// `tcpscope top`: the aggregates of stats redrawn every interval on a full screen (plain ANSI
// sequences and termios, no curses), or as plain text blocks when stdout is not a terminal.
#include "cmd/top.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "kernel/session.h"
#include "output/top_view.h"
#include "util/io.h"
#include "util/signals.h"

namespace tcpscope {

namespace {

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
Status write_failed(int err)
{
	if (err == EPIPE || err == EIO)
		return std::nullopt;
	return sys_error("write", "standard output", err);
}

// Refreshes until the end; nullopt for a normal end (exit 0).
Status loop(const AggregateSession &session, const TopOptions &o, const SignalFd &sig,
	    FullScreen *fs)
{
	using clock = AggregateSession::Clock;
	const auto start = clock::now();
	const auto step = std::chrono::duration_cast<clock::duration>(
		std::chrono::duration<double>(o.interval));
	bool keys = fs && fs->keys();
	TopScreen screen = fs ? terminal_size(keys)
			      : TopScreen{layout_cols, std::numeric_limits<size_t>::max(), false};
	std::optional<Snapshot> prev;
	Snapshot now = session.snapshot(true);
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
		now = session.snapshot(true);
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

	auto session = AggregateSession::open(o.verbose, o.netns.value_or(0));
	if (!session)
		return print_error(session.error());
	const bool tty = isatty(STDOUT_FILENO);
	auto sig = tty ? SignalFd::open({SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGTSTP})
		       : SignalFd::stop_signals();
	if (!sig)
		return print_error(sig.error());
	Status err;
	{
		std::optional<FullScreen> fs;
		if (tty)
			fs.emplace();
		err = loop(*session, o, *sig, fs ? &*fs : nullptr);
	} // the terminal is restored before anything is printed
	if (err)
		return print_error(*err);
	return 0;
}

} // namespace tcpscope
