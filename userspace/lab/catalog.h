// SPDX-License-Identifier: GPL-2.0
// The experiments `tcpscope lab` knows: names, the articles' claim each one tests, variants.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tcpscope::lab {

struct Variant {
	std::string name;
	std::string what; // one line: what this variant changes
};

struct Experiment {
	std::string name;
	std::string claim;             // in the articles' words (Documentation/tcpscope/lab.rst)
	std::string source;            // which article(s): "S4" ...
	std::vector<Variant> variants; // the first is the default
};

const std::vector<Experiment> &catalog();
const Experiment *find_experiment(std::string_view name);
const Variant *find_variant(const Experiment &e, std::string_view name);

// `lab NAME [--variant V]`: the usage error for a name that is neither list, all nor an
// experiment, or a variant the experiment lacks ("list" names them); nullopt when fine.
std::optional<std::string> check_names(std::string_view name, std::string_view variant);

} // namespace tcpscope::lab
