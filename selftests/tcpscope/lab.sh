#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# tcpscope's lab tests: `tcpscope lab` experiments run for real (lab_test.py, KTAP).
exec "$(dirname "$(readlink -f "$0")")/agent_test.sh" lab_test.py
