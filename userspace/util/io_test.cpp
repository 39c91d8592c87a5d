// SPDX-License-Identifier: GPL-2.0
// Tests write_stdout() and write_error(): what each command does when its output fails.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>

#include "util/io.h"

namespace tcpscope {
namespace {

// Standard output pointed at fd for the life of the object.
class StdoutTo {
      public:
	explicit StdoutTo(int fd) : saved_(dup(STDOUT_FILENO))
	{
		fflush(stdout);
		dup2(fd, STDOUT_FILENO);
	}
	~StdoutTo()
	{
		dup2(saved_, STDOUT_FILENO);
		close(saved_);
	}

      private:
	int saved_;
};

TEST(WriteStdout, FullDeviceIsEnospcAndNothingWritten)
{
	int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
	ASSERT_GE(full, 0);
	size_t written = 99;
	int err;
	{
		StdoutTo to(full);
		err = write_stdout("abc\n", &written);
	}
	close(full);
	EXPECT_EQ(err, ENOSPC);
	EXPECT_EQ(written, 0u);
	auto e = write_error(err);
	ASSERT_TRUE(e.has_value());
	EXPECT_EQ(e->message(), "failed to write standard output: No space left on device");
}

TEST(WriteStdout, ClosedPipeIsEpipeAndNotAnError)
{
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	size_t written = 99;
	int err, err2;
	{
		StdoutTo to(p[1]);
		err = write_stdout("abc\n", &written);
		EXPECT_EQ(written, 4u);
		close(p[0]); // the reader goes: the next write is EPIPE (SIGPIPE is ignored)
		sighandler_t old = signal(SIGPIPE, SIG_IGN);
		err2 = write_stdout("def\n", &written);
		signal(SIGPIPE, old);
	}
	close(p[1]);
	EXPECT_EQ(err, 0);
	EXPECT_EQ(err2, EPIPE);
	EXPECT_EQ(written, 0u);
	EXPECT_FALSE(write_error(err2).has_value());
	EXPECT_FALSE(write_error(0).has_value());
}

} // namespace
} // namespace tcpscope
