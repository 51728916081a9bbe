#!/bin/sh
# Never finishes its header: starts a child of its own, writes both pids
# to the file PATH_TRANSLATED names, and sleeps.
sleep 1000 &
echo "$$ $!" > "$PATH_TRANSLATED.tmp"
mv "$PATH_TRANSLATED.tmp" "$PATH_TRANSLATED"
exec sleep 1000
