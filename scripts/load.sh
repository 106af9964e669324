#!/usr/bin/env bash
# Load measurement of the real binary with wrk (Debian package "wrk"):
# a signed-in page and the sign-in page, 2 threads × 16 connections × 10 s.
#   scripts/load.sh                       # embedded SQLite in a temp dir
#   scripts/load.sh 'postgres://…'        # PostgreSQL (use an empty database or search_path)
# Results are recorded in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk"; exit 1; }
tmp=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
db=${1:-sqlite:$tmp/load.db}
addr=127.0.0.1:18090
go build -o "$tmp/simplemodule" ./cmd/simplemodule
"$tmp/simplemodule" --addr "$addr" --database-url "$db" --log-level warn &
pid=$!
for _ in $(seq 1 50); do curl -sf "http://$addr/healthz" >/dev/null && break; sleep 0.1; done
jar=$tmp/jar
email="load-$RANDOM@example.com"
curl -s -c "$jar" -b "$jar" -H 'Sec-Fetch-Site: same-origin' -o /dev/null \
  --data-urlencode "email=$email" -d 'password=password123&confirm_password=password123' "http://$addr/account/register"
token=$(awk '/sm_session/ {print $7}' "$jar")
echo "== $db"
echo "-- GET /account/manage (signed in: session lookup, stamp check, render)"
wrk -t2 -c16 -d10s -H "Cookie: sm_session=$token" "http://$addr/account/manage" | grep -E 'Latency|Requests/sec|Non-2xx'
echo "-- GET /account/login (anonymous render)"
wrk -t2 -c16 -d10s "http://$addr/account/login" | grep -E 'Latency|Requests/sec|Non-2xx'
echo "-- resident memory after the run: $(ps -o rss= -p "$pid") KiB"
