#!/usr/bin/env python3
"""Answers with its own status line and a field of its own."""
import sys

sys.stdout.write("Status: 418 I'm a teapot\r\n")
sys.stdout.write("Content-Type: text/plain\r\n")
sys.stdout.write("X-Brewed-By: teapot.py\r\n\r\n")
sys.stdout.write("short and stout\n")
