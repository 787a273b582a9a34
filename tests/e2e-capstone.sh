#!/usr/bin/env bash
# e2e-capstone.sh - chapter 10's capstone, build/chapters/10-best-practices/
# fetcher, as a person uses it: against the workbook's server (build/wbserver)
# and against a different real HTTP server, nginx serving static files on
# 127.0.0.1 (no root needed: its pid, logs and temp files live in the
# scratch folder). Each check prints ok/FAIL; run by `make e2e`.
source "$(dirname "$0")/lib.sh"

F=$root/build/chapters/10-best-practices/fetcher
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# Runs the fetcher in the background with a bound: $1 the output file, the
# rest its arguments. Sets $fpid.
fetch_bg() {
  local out=$1
  shift
  "$F" "$@" >"$out" 2>"$out.err" &
  fpid=$!
  pids+=("$fpid")
}

# Waits (at most $2 tenths of a second) for process $1 to end; sets $rc
# (255 when it had to be killed).
wait_end() {
  if wait_for "! kill -0 $1 2>/dev/null" "$2"; then
    wait "$1"
    rc=$?
  else
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    rc=255
  fi
}

# jq on a summary, quietly: prints the value or nothing.
jv() { jq -r "$2" "$1" 2>/dev/null; }

echo "Capstone against the workbook's server:"
build/wbserver 0 >"$tmp/wbs.out" 2>&1 &
pids+=("$!")
if ! wait_for "grep -q serving $tmp/wbs.out" 50; then
  bad "build/wbserver did not start"
  cat "$tmp/wbs.out"
  finish
  exit
fi
base=$(sed -n 's|.*serving on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$tmp/wbs.out")

fetch_bg "$tmp/a.json" --concurrency 2 --timeout 2000 --retries 2 --backoff 20 \
  "$base/json/1" "$base/status/404" "$base/flaky/e2e/1" "$base/status/503" "$base/close"
wait_end "$fpid" 100
s="$tmp/a.json"
[ "$rc" = 0 ] && [ "$(jv "$s" '.urls, .ok, .failed' | tr '\n' ' ')" = "5 2 3 " ] &&
  ok "5 URLs: exit 0 and a JSON summary with 2 ok, 3 failed" ||
  { bad "summary: exit $rc"; head -c 1500 "$s"; cat "$s.err"; }
[ "$(jv "$s" '.results[1] | "\(.status) \(.attempts) \(.error)"')" = "404 1 HTTP 404" ] &&
  ok "a 404 is tried once, never retried, and its error says HTTP 404" ||
  bad "404: $(jv "$s" '.results[1]')"
[ "$(jv "$s" '.results[2] | "\(.ok) \(.status) \(.attempts)"')" = "true 200 2" ] &&
  ok "a flaky URL (503 once, then 200) succeeds at its second attempt" ||
  bad "flaky: $(jv "$s" '.results[2]')"
[ "$(jv "$s" '.results[3] | "\(.status) \(.attempts)"')" = "503 3" ] &&
  [ "$(jv "$s" '.results[4] | "\(.status) \(.attempts)"')" = "null 3" ] &&
  ok "a 503 and a dropped connection are retried (3 attempts each with --retries 2)" ||
  bad "retries: $(jv "$s" '.results[3]') $(jv "$s" '.results[4]')"
want="$base/json/1 $base/status/404 $base/flaky/e2e/1 $base/status/503 $base/close"
[ "$(jv "$s" '[.results[].url] | join(" ")')" = "$want" ] &&
  ok "results come in the order of the URLs" || bad "order: $(jv "$s" '[.results[].url]')"

printf '# a comment\n%s/json/2\n\n  %s/status/418  \n' "$base" "$base" >"$tmp/urls.txt"
echo "$base/json/3" | "$F" --file "$tmp/urls.txt" - >"$tmp/b.json" 2>"$tmp/b.err"
rc=$?
[ "$rc" = 0 ] && [ "$(jv "$tmp/b.json" '[.results[] | "\(.status)"] | join(",")')" = "200,418,200" ] &&
  ok "URLs from --file (comments and blanks skipped) and from - (stdin), in that order" ||
  { bad "--file and -: exit $rc"; cat "$tmp/b.json" "$tmp/b.err"; }

"$F" --concurrency 0 "$base/json/1" >/dev/null 2>"$tmp/c.err"
rc=$?
[ "$rc" = 2 ] && grep -q usage "$tmp/c.err" && ok "a bad option exits 2 with the usage" ||
  bad "bad option: exit $rc"

# Ctrl-C in the middle: two slow URLs in flight, one not started yet.
fetch_bg "$tmp/d.json" --concurrency 2 "$base/json/1" "$base/delay/5000" \
  "$base/delay/5000" "$base/json/2"
# Mid-run: its sockets are open (the loop, and so its SIGINT watcher, runs).
wait_for "[ \$(ls -l /proc/$fpid/fd 2>/dev/null | grep -c socket) -ge 2 ]" 50
sleep 0.2
kill -INT "$fpid"
wait_end "$fpid" 50
s="$tmp/d.json"
[ "$rc" = 130 ] && [ "$(jv "$s" '.interrupted')" = true ] &&
  ok "SIGINT mid-run: exit 130 and a summary that says interrupted" ||
  { bad "SIGINT: exit $rc"; head -c 1500 "$s"; cat "$s.err"; }
[ "$(jv "$s" '.results[0].ok')" = true ] &&
  jv "$s" '.results[1].error' | grep -q "cancelled: interrupted" &&
  jv "$s" '.results[3].error' | grep -q "not started: interrupted" &&
  [ "$(jv "$s" '.elapsed_ms < 4000')" = true ] &&
  ok "partial results: the finished URL kept, the ones in flight cancelled, the rest not started" ||
  bad "partial results: $(jv "$s" '[.results[] | .error]')"

echo "Capstone against nginx:"
if ! command -v nginx >/dev/null; then
  bad "nginx is not installed (make test installs nginx-light)"
  finish
  exit
fi
n=$tmp/nginx
mkdir -p "$n/www" "$n/logs" "$n/tmp"
chmod 755 "$tmp" "$n" "$n/www" # its worker may run as another user
printf '{"served":"by nginx"}\n' >"$n/www/a.json"
head -c 5000 /dev/zero | tr '\0' x >"$n/www/b.txt"
chmod 644 "$n/www"/*
started=
for try in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 30000))
  cat >"$n/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $n/nginx.pid;
error_log $n/logs/error.log;
events { worker_connections 64; }
http {
  access_log $n/logs/access.log;
  client_body_temp_path $n/tmp;
  server {
    listen 127.0.0.1:$port;
    root $n/www;
  }
}
EOF
  nginx -p "$n" -c "$n/nginx.conf" >"$n/logs/out.log" 2>&1 &
  ngx=$!
  pids+=("$ngx")
  if wait_for "curl -s -o /dev/null http://127.0.0.1:$port/a.json" 50; then
    started=1
    break
  fi
  kill "$ngx" 2>/dev/null
  wait "$ngx" 2>/dev/null
done
if [ -z "$started" ]; then
  bad "nginx did not start"
  cat "$n/logs/out.log" "$n/logs/error.log" 2>/dev/null | tail -5
  finish
  exit
fi
ok "nginx serves static files on 127.0.0.1:$port"
u=http://127.0.0.1:$port
fetch_bg "$tmp/e.json" --concurrency 2 --retries 3 --backoff 20 "$u/a.json" "$u/b.txt" "$u/missing.html"
wait_end "$fpid" 100
s="$tmp/e.json"
[ "$rc" = 0 ] && [ "$(jv "$s" '.ok, .failed' | tr '\n' ' ')" = "2 1 " ] &&
  [ "$(jv "$s" '.results[1].bytes')" = 5000 ] && [ "$(jv "$s" '.results[0].bytes')" = "$(stat -c %s "$n/www/a.json")" ] &&
  ok "two files fetched from nginx (the byte counts match), one missing: exit 0, within 10 s although nginx keeps connections open" ||
  { bad "nginx summary: exit $rc"; head -c 1500 "$s"; cat "$s.err"; }
asked=$(grep -c 'GET /missing.html' "$n/logs/access.log")
[ "$(jv "$s" '.results[2] | "\(.status) \(.attempts)"')" = "404 1" ] && [ "$asked" = 1 ] &&
  ok "nginx's 404 is not retried: its access log has one request for it" ||
  bad "nginx 404: $(jv "$s" '.results[2]'), $asked request(s) in the log"

finish
