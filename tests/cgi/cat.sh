#!/bin/sh
# Sends the file PATH_TRANSLATED names; with QUERY_STRING "len", with a
# Content-Length, else without one (chunked for HTTP/1.1 clients).
printf 'Content-Type: application/octet-stream\n'
if [ "$QUERY_STRING" = len ]; then
	printf 'Content-Length: %s\n' "$(stat -c %s "$PATH_TRANSLATED")"
fi
printf '\n'
exec cat "$PATH_TRANSLATED"
