#!/bin/sh
# A local redirect to itself: cgid follows it once only.
printf 'Location: /redirect-loop.sh\n\n'
