#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# tcpscope's aggregate tests: `stats` against real connections (stats_test.py, KTAP).
exec "$(dirname "$(readlink -f "$0")")/agent_test.sh" stats_test.py
