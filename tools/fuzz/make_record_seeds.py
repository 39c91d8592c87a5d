#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Writes the seed records of fuzz_record (corpus/record/) as the kernel side sends them
(bpf/tcpscope.h), one of each event type: struct tcpscope_event, and for summaries and
snapshot records struct tcpscope_sock_event (the event, the socket's counters, its inode).
Run from tools/fuzz/."""
import os
import struct

FMT = "<6Q16s16s3I5H8B18s"  # 128 bytes, as static_assert'ed in event/record.h
assert struct.calcsize(FMT) == 128
TAIL = "<2Q4IQ"  # struct tcpscope_sock_stats, then the inode: 168 bytes in all
assert struct.calcsize(TAIL) == 40


def rec(typ, old, new, family=2, flags=0, cause=0, path=0, path_len=0, opn=0, hs=0, close=0,
        probes=0, comm=b"curl"):
    sa = bytes([127, 0, 0, 1]) + bytes(12) if family == 2 else bytes(15) + b"\x01"
    return struct.pack(FMT, 2500000000, 42, 1500000, 7, 60123000, path, sa, sa, 4026531840,
                       1234, 0, 5000, 80, family, flags, probes, typ, old, new, cause,
                       path_len, opn, hs, close, comm.ljust(18, b"\0"))


def tail(acked=1001, received=11, segs_out=7, segs_in=6, retrans=1, srtt=42, ino=0):
    return struct.pack(TAIL, acked, received, segs_out, segs_in, retrans, srtt, ino)


U64, U32 = (1 << 64) - 1, (1 << 32) - 1
seeds = {
    "state": rec(1, 2, 1),
    "state_v6": rec(1, 1, 4, family=10),
    "tw_enter": rec(2, 5, 6),
    "tw_substate_late": rec(3, 5, 6, flags=1),
    "tw_leave": rec(4, 6, 7, cause=1),
    "keepalive": rec(5, 1, 1, probes=3),
    "conn": rec(6, 0, 0, path=0x7456512, path_len=7, opn=1, hs=1, close=1) + tail(),
    "conn_bad": rec(6, 0, 0, path=(1 << 64) - 1, path_len=255, opn=200, hs=200, close=200,
                    comm=b"\x01\xff\"\\,") + tail(U64, U64, U32, U32, U32, U32, U64),
    "conn_no_stats": rec(6, 0, 0, flags=0x10, path=0x71, path_len=2) + tail(0, 0, 0, 0, 0, 0),
    "conn_short": rec(6, 0, 0, path=0x71, path_len=2),  # 128 bytes: not a summary
    "snapshot": rec(7, 1, 1, flags=2) + tail(ino=31337),
    "snapshot_listener": rec(7, 10, 10, flags=0x16) + tail(0, 0, 0, 0, 0, 0),
    "unknown": rec(99, 15, 200, family=77),
}
os.makedirs("corpus/record", exist_ok=True)
for name, data in seeds.items():
    with open("corpus/record/" + name, "wb") as f:
        f.write(data)
