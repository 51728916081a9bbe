#!/usr/bin/env python3
"""POST echo: reads exactly CONTENT_LENGTH bytes.  With QUERY_STRING
"sum" it answers "SHA256 LENGTH"; otherwise it echoes the body back with
a Content-Length, streaming, and logs the checksum on stderr."""
import hashlib
import os
import sys

want = int(os.environ.get("CONTENT_LENGTH", "0"))
out = sys.stdout.buffer
h = hashlib.sha256()
n = 0
summing = os.environ.get("QUERY_STRING") == "sum"
if not summing:
    out.write(b"Content-Type: application/octet-stream\n")
    out.write(b"Content-Length: %d\n\n" % want)
while n < want:
    b = sys.stdin.buffer.read(min(1 << 16, want - n))
    if not b:
        break
    h.update(b)
    n += len(b)
    if not summing:
        out.write(b)
if summing:
    out.write(b"Content-Type: text/plain\n\n")
    out.write(b"%s %d\n" % (h.hexdigest().encode(), n))
sys.stderr.write("echo.py: sha256 %s of %d bytes\n" % (h.hexdigest(), n))
