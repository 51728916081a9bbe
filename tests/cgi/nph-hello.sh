#!/bin/sh
# A non-parsed-header program: its output is the whole response.
printf 'HTTP/1.1 299 Straight Through\r\nContent-Type: text/plain\r\n'
printf 'X-Nph: yes\r\nContent-Length: 9\r\nConnection: close\r\n\r\n'
printf 'nph body\n'
