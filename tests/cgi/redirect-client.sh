#!/bin/sh
# A client redirect: the client gets 302 and this Location.
printf 'Location: http://example.invalid/elsewhere\n\n'
