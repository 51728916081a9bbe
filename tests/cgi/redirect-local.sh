#!/bin/sh
# A local redirect: cgid serves /env.sh/redirected instead.
printf 'Location: /env.sh/redirected?from=local\n\n'
