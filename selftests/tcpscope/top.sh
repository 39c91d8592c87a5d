#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# tcpscope's live view: `top` in a pseudo-terminal against real connections (top_test.py, KTAP).
exec "$(dirname "$(readlink -f "$0")")/agent_test.sh" top_test.py
