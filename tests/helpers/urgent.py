#!/usr/bin/env python3
# urgent.py - TCP urgent data through a relay, both ways.
#
#   urgent.py origin PORT   accepts connections on 127.0.0.1:PORT, one at
#                           a time; reads each to EOF, answers "sha256 of
#                           what came", an urgent "!", then "end", and
#                           closes (a probe that sent nothing just closes)
#   urgent.py greeter PORT  accepts connections on 127.0.0.1:PORT and
#                           sends each "before ", an urgent "!", " after",
#                           then closes
#   urgent.py tls PORT      reads from 127.0.0.1:PORT over TLS (no
#                           verification) until the end, and prints it
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
import ssl
import sys
import time


def read_all(s):
    parts = []
    while True:
        b = s.recv(1 << 16)
        if not b:
            return b"".join(parts)
        parts.append(b)


def serve(port, answer):
    """Accepts connections on 127.0.0.1:port, one at a time, for ever."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    while True:
        s, _ = ls.accept()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
        s.settimeout(20)
        try:
            answer(s)
        except OSError:
            pass
        s.close()


def digest(s):
    got = read_all(s)
    if got:
        s.sendall(hashlib.sha256(got).hexdigest().encode() + b" ")
        s.send(b"!", socket.MSG_OOB)
        s.sendall(b"end")


def greet(s):
    s.sendall(b"before ")
    time.sleep(0.1)
    s.send(b"!", socket.MSG_OOB)
    s.sendall(b" after")


def tls(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        got = b""
        try:
            while True:
                b = s.recv(1 << 16)
                if not b:
                    break
                got += b
        except ssl.SSLEOFError:
            got += b" (no close_notify)"
        print(got.decode())


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
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "origin":
        serve(port, digest)
    elif mode == "greeter":
        serve(port, greet)
    else:
        {"tls": tls, "client": client}[mode](port)
