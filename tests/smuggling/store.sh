#!/bin/sh
# store.sh DIR - the CGI program behind cgid in smuggling.bats.  Each run
# adds one line to DIR/cgi.log in the format of smuggling.bats's nginx
# access log, stores the body of a PUT of /up/NAME in DIR/up/NAME, and
# answers 201.
d=$1
printf '%s %s 201 cl=[%s] te=[] xff=[%s]\n' "$REQUEST_METHOD" \
	"$REQUEST_URI" "${CONTENT_LENGTH:-}" "${HTTP_X_FORWARDED_FOR:-}" \
	>> "$d/cgi.log"
case $REQUEST_METHOD:$PATH_INFO in
PUT:/up/*)
	cat > "$d/up/${PATH_INFO#/up/}"
	;;
esac
printf 'Status: 201 Created\r\nContent-Type: text/plain\r\n'
printf 'Content-Length: 7\r\n\r\nstored\n'
