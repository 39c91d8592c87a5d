// SPDX-License-Identifier: GPL-2.0
// The catalog of experiments; each one's setup and kernel code: Documentation/tcpscope/lab.rst.
#include "lab/catalog.h"

namespace tcpscope::lab {

const std::vector<Experiment> &catalog()
{
	static const std::vector<Experiment> all = {
		{"handshake",
		 "a connection opens with a three-way handshake: SYN, SYN-ACK (ack=x+1), ACK; the "
		 "server goes from LISTEN to SYN_RCVD when the SYN arrives",
		 "S0 S2 S3",
		 {{"default", "connect() to a listener"}}},
		{"close3",
		 "with delayed ACK the close takes three segments: the passive closer's ACK of the "
		 "FIN rides on its own FIN (FIN, FIN+ACK, ACK)",
		 "S4",
		 {{"default", "the client sends 5 bytes and closes; the server reads to EOF and "
			      "closes at once"},
		  {"quickack", "the server sets TCP_QUICKACK after recv() returns 0, then closes"},
		  {"late-close", "the server closes only when its ACK of the FIN went out alone, "
				 "or 500 ms after EOF"}}},
	};
	return all;
}

const Experiment *find_experiment(std::string_view name)
{
	for (const auto &e : catalog())
		if (e.name == name)
			return &e;
	return nullptr;
}

const Variant *find_variant(const Experiment &e, std::string_view name)
{
	for (const auto &v : e.variants)
		if (v.name == name)
			return &v;
	return nullptr;
}

std::optional<std::string> check_names(std::string_view name, std::string_view variant)
{
	if (name == "list" || name == "all")
		return std::nullopt;
	const Experiment *e = find_experiment(name);
	if (!e)
		return "'" + std::string(name) + "' is not an experiment (tcpscope lab list)";
	if (!variant.empty() && variant != "list" && !find_variant(*e, variant))
		return "'" + std::string(variant) + "' is not a variant of " + e->name +
		       " (tcpscope lab " + e->name + " --variant list)";
	return std::nullopt;
}

} // namespace tcpscope::lab
