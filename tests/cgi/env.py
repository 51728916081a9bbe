#!/usr/bin/env python3
"""Prints its environment as NAME=value lines, with Content-Length."""
import os
import sys

body = "".join("%s=%s\n" % kv for kv in sorted(os.environ.items()))
body = body.encode()
sys.stdout.buffer.write(b"Content-Type: text/plain\r\n")
sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body))
sys.stdout.buffer.write(body)
