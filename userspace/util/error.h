// SPDX-License-Identifier: GPL-2.0
// Typed errors for the agent: what failed, on which object, with which errno.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace tcpscope {

struct Error {
	std::string op;     // "load BPF object", "parse port list"
	std::string object; // what it was done to: a program, a flag, a file
	int err = 0;        // errno, 0 when not a system error
	std::string detail; // for usage errors: what was wrong

	// "failed to <op> <object>: <strerror|detail>"; without an op (a flag's error):
	// "<object>: <detail>", as in "--duration: must be > 0 (got '0')"
	std::string message() const
	{
		std::string m = op.empty() ? object : "failed to " + op;
		if (op.empty()) {
			if (!detail.empty())
				m += (m.empty() ? "" : ": ") + detail;
			if (err)
				m += std::string(": ") + std::strerror(err);
			return m;
		}
		if (!object.empty())
			m += " " + object;
		if (err)
			m += std::string(": ") + std::strerror(err);
		if (!detail.empty())
			m += ": " + detail;
		return m;
	}
};

inline Error sys_error(std::string op, std::string object, int err)
{
	return Error{std::move(op), std::move(object), err < 0 ? -err : err, {}};
}

inline Error usage_error(std::string op, std::string object, std::string detail)
{
	return Error{std::move(op), std::move(object), 0, std::move(detail)};
}

// A command-line flag's value rejected: "<flag>: <detail>", exit code 2 for the caller.
inline Error flag_error(std::string flag, std::string detail, int err = 0)
{
	return Error{{}, std::move(flag), err, std::move(detail)};
}

// "tcpscope: <message>" on stderr; returns 1, the exit code of a runtime failure.
inline int print_error(const Error &e)
{
	fprintf(stderr, "tcpscope: %s\n", e.message().c_str());
	return 1;
}

// Done, or the Error that prevented it: what returns no value returns this. An optional
// that must be looked at: `if (auto err = f())` takes the error.
struct [[nodiscard]] Status : std::optional<Error> {
	using std::optional<Error>::optional;
};

// A value or the Error that prevented it (std::expected is C++23).
template <class T> class [[nodiscard]] Result {
      public:
	Result(T v) : v_(std::move(v)) {}
	Result(Error e) : v_(std::move(e)) {}
	bool ok() const { return v_.index() == 0; }
	explicit operator bool() const { return ok(); }
	T &value() { return std::get<0>(v_); }
	const T &value() const { return std::get<0>(v_); }
	T &operator*() { return value(); }
	T *operator->() { return &value(); }
	const Error &error() const { return std::get<1>(v_); }

      private:
	std::variant<T, Error> v_;
};

} // namespace tcpscope
