#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# tcpscope at scale and with its tables full on purpose (scale_test.py, KTAP).
exec "$(dirname "$(readlink -f "$0")")/agent_test.sh" scale_test.py
