#!/bin/sh
# Records how many copies of it run at once, in the directory
# PATH_TRANSLATED names (files "now" and "max").
d=$PATH_TRANSLATED
flock "$d/lock" sh -c 'n=$(($(cat "$1/now") + 1)); echo $n > "$1/now";
	[ "$n" -gt "$(cat "$1/max")" ] && echo $n > "$1/max"; true' sh "$d"
sleep 0.2
flock "$d/lock" sh -c 'echo $(($(cat "$1/now") - 1)) > "$1/now"' sh "$d"
printf 'Content-Type: text/plain\n\ndone\n'
