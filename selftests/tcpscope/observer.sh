#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# tcpscope's observer tests: `watch` against real connections (observer_test.py, KTAP).
# Set TCPSCOPE_QUICK=1 to skip the 60 s TIME_WAIT expiry test.
exec "$(dirname "$(readlink -f "$0")")/agent_test.sh" observer_test.py
