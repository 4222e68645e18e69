#!/usr/bin/env python3
"""Egress delay for a lab node, standing in for `tc netem delay` (the kernel here has no netem).

An iptables rule in the node's namespace (mangle POSTROUTING -o eth0 -j NFQUEUE
--queue-num N --queue-bypass) hands every outgoing packet to queue N. This
program binds that queue over raw nfnetlink and holds each packet's ACCEPT
verdict until delay +/- jitter after it arrived, never releasing a packet before
one queued ahead of it (order is kept, as on a wire). Only packet ids travel
(copy mode "meta"), so it costs little per packet.

Standard library only. It prints "ready" on stdout once the queue is bound.
On SIGTERM/SIGINT it accepts what it holds and exits, so clearing a delay loses
no packet. With --exit-on-eof it also exits when stdin closes (its parent died).
With --queue-bypass in the rule, traffic passes undelayed if it is not running.
"""

import argparse
import collections
import ctypes
import errno
import os
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NETLINK_NO_ENOBUFS = 5
SOL_NETLINK = 270

NLMSG_ERROR = 2
NLM_F_REQUEST = 1
NLM_F_ACK = 4

NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQNL_MSG_VERDICT_BATCH = 3

NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2

NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5

NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NFQA_CFG_F_FAIL_OPEN = 1
NF_ACCEPT = 1

NLMSG_HDR = struct.Struct('=IHHII')  # len, type, flags, seq, pid
NFGEN_HDR = struct.Struct('!BBH')  # family, version, res_id (big endian)
NLA_HDR = struct.Struct('=HH')


def align4(n):
    return (n + 3) & ~3


def attr(kind, payload):
    raw = NLA_HDR.pack(NLA_HDR.size + len(payload), kind) + payload
    return raw + b'\0' * (align4(len(raw)) - len(raw))


class Queue:
    def __init__(self, num, maxlen):
        self.num = num
        self.seq = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        try:
            # A full receive buffer loses the message, not the packet state: don't turn it into an error.
            self.sock.setsockopt(SOL_NETLINK, NETLINK_NO_ENOBUFS, 1)
        except OSError:
            pass
        self.sock.bind((0, 0))
        self.request(NFQNL_MSG_CONFIG, attr(NFQA_CFG_CMD, struct.pack('!BBH', NFQNL_CFG_CMD_BIND, 0, socket.AF_INET)))
        self.request(NFQNL_MSG_CONFIG, attr(NFQA_CFG_PARAMS, struct.pack('!IB', 0, NFQNL_COPY_META)))
        self.request(NFQNL_MSG_CONFIG, attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack('!I', maxlen)))
        # If the queue ever fills up, let packets through rather than dropping them: loss is a separate fault.
        self.request(NFQNL_MSG_CONFIG, attr(NFQA_CFG_FLAGS, struct.pack('!I', NFQA_CFG_F_FAIL_OPEN)) + attr(NFQA_CFG_MASK, struct.pack('!I', NFQA_CFG_F_FAIL_OPEN)))
        self.sock.setblocking(False)

    def message(self, msg_type, payload, flags):
        self.seq += 1
        body = NFGEN_HDR.pack(socket.AF_UNSPEC, 0, self.num) + payload
        return NLMSG_HDR.pack(NLMSG_HDR.size + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, self.seq, 0) + body

    def request(self, msg_type, payload):
        """Sends a config message and waits for the kernel's acknowledgement."""
        self.sock.send(self.message(msg_type, payload, NLM_F_REQUEST | NLM_F_ACK))
        seq = self.seq
        while True:
            data = self.sock.recv(65536)
            for mtype, mseq, body in parse(data):
                if mtype == NLMSG_ERROR and mseq == seq:
                    code = -struct.unpack_from('=i', body, 0)[0]
                    if code:
                        raise OSError(code, 'nfqueue config: ' + os.strerror(code))
                    return

    def accept_upto(self, packet_id):
        """One batch verdict accepts every queued packet with an id up to packet_id."""
        payload = attr(NFQA_VERDICT_HDR, struct.pack('!II', NF_ACCEPT, packet_id))
        self.sock.send(self.message(NFQNL_MSG_VERDICT_BATCH, payload, NLM_F_REQUEST))

    def packets(self):
        """Ids of the packets waiting in the socket, in queue order."""
        ids = []
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return ids
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    continue
                raise
            for mtype, _seq, body in parse(data):
                if mtype != (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                    continue
                offset = NFGEN_HDR.size
                while offset + NLA_HDR.size <= len(body):
                    length, kind = NLA_HDR.unpack_from(body, offset)
                    if length < NLA_HDR.size:
                        break
                    if kind & 0x3FFF == NFQA_PACKET_HDR:
                        ids.append(struct.unpack_from('!I', body, offset + NLA_HDR.size)[0])
                        break
                    offset += align4(length)


def parse(data):
    offset = 0
    while offset + NLMSG_HDR.size <= len(data):
        length, mtype, _flags, seq, _pid = NLMSG_HDR.unpack_from(data, offset)
        if length < NLMSG_HDR.size:
            break
        yield mtype, seq, data[offset + NLMSG_HDR.size:offset + length]
        offset += align4(length)


def tighten_timer_slack():
    # The default 50 us timer slack would add to every hold; 1 ns keeps wake-ups on time.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_TIMERSLACK = 29
        libc.prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--queue', type=int, required=True)
    p.add_argument('--delay-ms', type=float, required=True)
    p.add_argument('--jitter-ms', type=float, default=0.0)
    p.add_argument('--maxlen', type=int, default=10000, help='packets held at most; past it the kernel lets packets through')
    p.add_argument('--seed', type=int, default=None)
    p.add_argument('--exit-on-eof', action='store_true', help='exit when stdin closes')
    args = p.parse_args()
    if args.delay_ms < 0 or args.jitter_ms < 0:
        p.error('delay and jitter must not be negative')

    rng = random.Random(args.seed)
    delay = args.delay_ms / 1000.0
    jitter = args.jitter_ms / 1000.0
    stopping = []
    # select() is restarted after a signal handler (PEP 475): the wake-up pipe makes it return at once.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    tighten_timer_slack()

    try:
        q = Queue(args.queue, args.maxlen)
    except OSError as e:
        print('delayer: cannot bind queue %d: %s' % (args.queue, e), file=sys.stderr)
        return 1
    print('ready', flush=True)

    held = collections.deque()  # (release time, packet id), release times never decreasing
    last_release = 0.0
    watch = [q.sock, wake_r]
    if args.exit_on_eof:
        watch.append(sys.stdin)

    while not stopping:
        now = time.monotonic()
        timeout = max(0.0, held[0][0] - now) if held else 1.0
        try:
            readable, _, _ = select.select(watch, [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 4096):
            break
        if q.sock in readable:
            for pid in q.packets():
                hold = delay + (rng.uniform(-jitter, jitter) if jitter else 0.0)
                release = max(now + max(0.0, hold), last_release)
                last_release = release
                held.append((release, pid))
        due = None
        now = time.monotonic()
        while held and held[0][0] <= now:
            due = held.popleft()[1]
        if due is not None:
            q.accept_upto(due)

    # Let go of everything still held instead of leaving it to be dropped when the socket closes.
    if held:
        q.accept_upto(held[-1][1])
    return 0


if __name__ == '__main__':
    sys.exit(main())
