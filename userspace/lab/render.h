// SPDX-License-Identifier: GPL-2.0
// Renderers of a run, pure functions of the trace and verdict: the two-column sequence
// diagram (text), one JSON object, and a pcap file (tcpdump, tshark and Wireshark read it).
#pragma once

#include <string>

#include "lab/catalog.h"
#include "lab/trace.h"
#include "lab/verdict.h"

namespace tcpscope::lab {

std::string render_text(const Experiment &e, const Trace &t, const Verdict &v);
std::string render_json(const Experiment &e, const Trace &t, const Verdict &v); // one line
std::string render_pcap(const Trace &t);
// The diagram as an SVG picture: lifelines with state bands, arrows, calls, a time axis
// broken across long waits, the verdict.
std::string render_svg(const Experiment &e, const Trace &t, const Verdict &v);

// `lab list`: a table, or one JSON object per experiment and line
std::string render_list_text();
std::string render_list_json();
// `lab NAME --variant list`
std::string render_variants(const Experiment &e);

// A JSON string literal (quotes included).
std::string json_string(std::string_view s);

} // namespace tcpscope::lab
