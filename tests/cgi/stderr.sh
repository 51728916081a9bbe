#!/bin/sh
# Complains on stderr, then answers.
echo "oops from the program" >&2
printf 'Content-Type: text/plain\n\nfine\n'
