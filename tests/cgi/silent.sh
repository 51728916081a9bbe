#!/bin/sh
# Exits without writing anything.
exit 3
