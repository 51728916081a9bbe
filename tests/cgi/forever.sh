#!/bin/sh
# Writes output until its reader goes away.
printf 'Content-Type: text/plain\n\n'
exec yes "a line that never ends"
