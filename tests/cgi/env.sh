#!/bin/sh
# Prints its environment, one NAME=value a line, sorted.
printf 'Content-Type: text/plain\n\n'
env | sort
