#!/usr/bin/env python3
"""Writes 1 MiB before reading any of its input, then reads all of it
and ends with the input's sha256: a gateway that feeds stdin and reads
stdout one after the other deadlocks here."""
import hashlib
import os
import sys

out = sys.stdout.buffer
out.write(b"Content-Type: application/octet-stream\n\n")
out.write(b"x" * (1 << 20))
out.flush()
want = int(os.environ.get("CONTENT_LENGTH", "0"))
h = hashlib.sha256()
n = 0
while n < want:
    b = sys.stdin.buffer.read(min(1 << 16, want - n))
    if not b:
        break
    h.update(b)
    n += len(b)
out.write(b"\n%s %d\n" % (h.hexdigest().encode(), n))
