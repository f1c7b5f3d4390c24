#!/usr/bin/env bash
# Fuzz the JSON API from its own OpenAPI schema with schemathesis: a fresh
# SQLite database with the demo data, served by gunicorn with production
# settings on loopback; any server error fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
port=${PORT:-8766}
export DATABASE_URL="sqlite:///$work/fuzz.sqlite3" MEDIA_ROOT="$work/media" \
    SECRET_KEY="fuzz-only-$(head -c 24 /dev/urandom | base64 | tr -d '\n/+=')" DEBUG=0 \
    ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/python manage.py load_demo --password fuzz-demo-pass >/dev/null
# The server's log (a line per 4xx the fuzzer provokes) goes to a file, shown
# only when the run fails.
.venv/bin/gunicorn registry.wsgi -w 2 -b "127.0.0.1:$port" --log-level warning 2>"$work/server.log" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/livez" >/dev/null && break; sleep 0.2; done
if ! .venv/bin/schemathesis run "http://127.0.0.1:$port/api/v1/schema/" \
    --checks not_a_server_error --max-examples "${MAX_EXAMPLES:-25}" --seed 1; then
    echo "--- server log (last 200 lines) ---" >&2
    tail -n 200 "$work/server.log" >&2
    exit 1
fi
