#!/bin/sh
# Dies of SIGSEGV before writing a header.
kill -SEGV $$
