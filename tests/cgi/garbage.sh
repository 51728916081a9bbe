#!/bin/sh
# Writes something that is not a header block.
printf 'this is not a header\n\nbody\n'
