#!/usr/bin/env python3
# urgent.py - TCP urgent data through a relay, both ways.
#
#   urgent.py origin PORT   accepts connections on 127.0.0.1:PORT, one at
#                           a time; reads each to EOF, answers "sha256 of
#                           what came", an urgent "!", then "end", and
#                           closes (a probe that sent nothing just closes)
#   urgent.py client PORT   connects to 127.0.0.1:PORT, sends a burst with
#                           an urgent byte in it, 8 MiB, another urgent
#                           byte and a tail, half-closes, and prints what
#                           the answer says: "intact answer=...", or
#                           "damaged ..." when the origin saw other bytes
#
# Both ends read urgent data inline (SO_OOBINLINE), as a byte of the
# stream in its place, which is what a relay that keeps every byte gives.
import hashlib
import socket
import sys


def read_all(s):
    parts = []
    while True:
        b = s.recv(1 << 16)
        if not b:
            return b"".join(parts)
        parts.append(b)


def origin(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    while True:
        s, _ = ls.accept()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
        s.settimeout(20)
        try:
            got = read_all(s)
            if got:
                s.sendall(hashlib.sha256(got).hexdigest().encode() + b" ")
                s.send(b"!", socket.MSG_OOB)
                s.sendall(b"end")
        except OSError:
            pass
        s.close()


def client(port):
    bulk = bytes(range(256)) * (8 * 4096)
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
    s.sendall(b"abc")
    s.send(b"U", socket.MSG_OOB)
    s.sendall(b"def" + bulk)
    s.send(b"V", socket.MSG_OOB)
    s.sendall(b"tail")
    s.shutdown(socket.SHUT_WR)
    sent = b"abcUdef" + bulk + b"Vtail"
    try:
        answer = read_all(s).decode()
    except socket.timeout:
        print("timed out")
        return
    digest, _, rest = answer.partition(" ")
    if digest == hashlib.sha256(sent).hexdigest():
        print("intact answer=" + rest)
    else:
        print("damaged answer=" + answer)


if __name__ == "__main__":
    {"origin": origin, "client": client}[sys.argv[1]](int(sys.argv[2]))
