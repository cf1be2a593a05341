#!/usr/bin/env bash
# Label Studio for this project: installed in its own virtual environment (it pins many packages
# that would clash with the training stack), run on 127.0.0.1 with its data inside the project.
#
#   scripts/labelstudio.sh install   create .venv-labelstudio from constraints-labelstudio.txt
#   scripts/labelstudio.sh start     install if needed, start, wait until it answers, print login
#   scripts/labelstudio.sh stop      stop the server started by `start`
#   scripts/labelstudio.sh env       print `export LABEL_STUDIO_URL=... LABEL_STUDIO_API_KEY=...`
#   scripts/labelstudio.sh annotator NAME
#                                    add annotator NAME@newsevents.local to the organisation (once)
#                                    and print the exports that make the CLI act as that annotator
#
# Settings (environment, with defaults):
#   LABEL_STUDIO_PORT=8080  LABEL_STUDIO_DATA=.labelstudio  LABEL_STUDIO_VENV=.venv-labelstudio
#   LABEL_STUDIO_USERNAME=admin@newsevents.local
#   LABEL_STUDIO_PASSWORD, LABEL_STUDIO_USER_TOKEN: generated on first start and kept in
#   $LABEL_STUDIO_DATA/credentials.env (git-ignored), so no secret is ever written to git.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=${LABEL_STUDIO_PORT:-8080}
DATA=$(realpath -m "${LABEL_STUDIO_DATA:-.labelstudio}")
VENV=${LABEL_STUDIO_VENV:-.venv-labelstudio}
PYTHON=${PYTHON:-python3.11}
URL="http://127.0.0.1:${PORT}"
CREDENTIALS="$DATA/credentials.env"
PIDFILE="$DATA/server.pid"
LOG="$DATA/server.log"
# The log as a person can open it: relative inside the project, absolute elsewhere (no ../../..).
case "$LOG" in "$PWD"/*) SHOWN_LOG=${LOG#"$PWD"/} ;; *) SHOWN_LOG=$LOG ;; esac
# The settings that reach this server again, for the hints we print: empty for the defaults.
SETTINGS=""
[ "$PORT" = 8080 ] || SETTINGS+="LABEL_STUDIO_PORT=$PORT "
[ "$DATA" = "$(realpath -m .labelstudio)" ] || SETTINGS+="LABEL_STUDIO_DATA=$(printf %q "$DATA") "
STARTUP_SECONDS=${LABEL_STUDIO_STARTUP_SECONDS:-300}
# Label Studio refuses ML backends and webhooks on reserved networks (SSRF protection). Its own list
# (core/utils/io.py), less loopback: `newsevents serve` runs on this machine; every other reserved
# network stays blocked.
BANNED_SUBNETS="0.0.0.0/8,10.0.0.0/8,100.64.0.0/10,169.254.0.0/16,172.16.0.0/12,192.0.0.0/24,192.0.2.0/24,\
192.88.99.0/24,192.168.0.0/16,198.18.0.0/15,198.51.100.0/24,203.0.113.0/24,224.0.0.0/4,233.252.0.0/24,\
240.0.0.0/4,255.255.255.255/32,::/128,::ffff:0:0/96,::ffff:0:0:0/96,64:ff9b::/96,64:ff9b:1::/48,100::/64,\
2001:0000::/32,2001:20::/28,2001:db8::/32,2002::/16,fc00::/7,fe80::/10,ff00::/8"

install() {
  if [ -x "$VENV/bin/label-studio" ] && cmp -s constraints-labelstudio.txt "$VENV/.installed"; then
    return
  fi
  echo "Installing Label Studio into $VENV (a few minutes, once)..." >&2
  command -v "$PYTHON" >/dev/null || PYTHON=python3
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip >&2
  "$VENV/bin/pip" install --quiet -r constraints-labelstudio.txt >&2
  cp constraints-labelstudio.txt "$VENV/.installed"
}

credentials() {
  make_data_dir
  if [ ! -f "$CREDENTIALS" ]; then
    (umask 077; {
      echo "LABEL_STUDIO_USERNAME=${LABEL_STUDIO_USERNAME:-admin@newsevents.local}"
      echo "LABEL_STUDIO_PASSWORD=${LABEL_STUDIO_PASSWORD:-$(openssl rand -hex 8)}"
      echo "LABEL_STUDIO_USER_TOKEN=${LABEL_STUDIO_USER_TOKEN:-$(openssl rand -hex 20)}"
    } > "$CREDENTIALS")
  fi
  # Read as data, never sourced as shell code: a value may hold spaces, quotes or $(...).
  local key value
  while IFS= read -r line || [ -n "$line" ]; do
    key=${line%%=*}
    value=${line#*=}
    case "$key" in
      LABEL_STUDIO_USERNAME|LABEL_STUDIO_PASSWORD|LABEL_STUDIO_USER_TOKEN) printf -v "$key" '%s' "$value" ;;
    esac
  done < "$CREDENTIALS"
}

# The data folder holds the database, whose tables keep the API tokens in plain text: only the
# owner may read it.
make_data_dir() {
  (umask 077; mkdir -p "$DATA")
  chmod 700 "$DATA"
}

# curl without the token on its command line (where `ps` would show it): the header goes in
# through a config read from stdin.
api_ok() {
  printf 'header = "Authorization: Token %s"\n' "$LABEL_STUDIO_USER_TOKEN" |
    curl -fs -o /dev/null -K - "$URL/api/projects"
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  install
  credentials
  if running; then
    echo "Label Studio is already running at $URL (pid $(cat "$PIDFILE"), log: $SHOWN_LOG)." >&2
  else
    make_data_dir
    # Secrets reach the server through its environment only, never its command line.
    LABEL_STUDIO_BASE_DATA_DIR="$DATA" \
    LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true \
    LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK=true \
    LABEL_STUDIO_USERNAME="$LABEL_STUDIO_USERNAME" \
    LABEL_STUDIO_PASSWORD="$LABEL_STUDIO_PASSWORD" \
    LABEL_STUDIO_USER_TOKEN="$LABEL_STUDIO_USER_TOKEN" \
    COLLECT_ANALYTICS=false \
    SENTRY_DSN= \
    USE_DEFAULT_BANNED_SUBNETS=false \
    USER_ADDITIONAL_BANNED_SUBNETS="$BANNED_SUBNETS" \
    FRONTEND_SENTRY_DSN= \
      nohup "$VENV/bin/label-studio" start --no-browser --internal-host 127.0.0.1 --port "$PORT" \
        --data-dir "$DATA" --enable-legacy-api-token > "$LOG" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    echo "Starting Label Studio at $URL (log: $SHOWN_LOG)..." >&2
    for _ in $(seq "$STARTUP_SECONDS"); do
      if ! running; then
        echo "Label Studio exited during start-up; last lines of $LOG:" >&2
        tail -n 20 "$LOG" >&2
        exit 1
      fi
      # The API answers only once migrations are done and the user exists.
      if api_ok; then
        break
      fi
      sleep 1
    done
    if ! api_ok; then
      echo "Label Studio did not answer within ${STARTUP_SECONDS}s; see $LOG" >&2
      exit 1
    fi
  fi
  local stop_hint="make labelstudio-stop"
  [ -z "$SETTINGS" ] || stop_hint="${SETTINGS}scripts/labelstudio.sh stop"
  cat >&2 <<MSG
Label Studio is up: $URL
  log in as:  $LABEL_STUDIO_USERNAME  /  $LABEL_STUDIO_PASSWORD
  for the CLI: eval "\$(${SETTINGS}scripts/labelstudio.sh env)"   then   newsevents ls push
  stop with:  $stop_hint
MSG
}

stop() {
  if running; then
    pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "Label Studio stopped." >&2
  else
    echo "Label Studio is not running (data folder $DATA)." >&2
  fi
  rm -f "$PIDFILE"
}

env_exports() {
  # Only the token of a server that was started: a fresh credentials file here would hold a token
  # no running server knows.
  if [ ! -f "$CREDENTIALS" ]; then
    echo "no Label Studio credentials in $DATA: start it first (${SETTINGS}scripts/labelstudio.sh start), or set LABEL_STUDIO_DATA and LABEL_STUDIO_PORT to those it was started with" >&2
    exit 1
  fi
  credentials
  printf 'export LABEL_STUDIO_URL=%q\n' "$URL"
  printf 'export LABEL_STUDIO_API_KEY=%q\n' "$LABEL_STUDIO_USER_TOKEN"
}

# A second (third, ...) annotator: a real user of the server with an API token of its own, so
# that each answer is recorded under the person who gave it and agreement can be measured.
annotator() {
  local name=${1:?usage: $0 annotator NAME}
  [[ "$name" =~ ^[a-z0-9-]+$ ]] || { echo "annotator name: lowercase letters, digits and -" >&2; exit 2; }
  credentials
  running || { echo "Label Studio is not running: start it with \`make labelstudio\`" >&2; exit 1; }
  local token
  token=$(LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true "$VENV/bin/label-studio" shell --data-dir "$DATA" 2>/dev/null <<PY | sed -n 's/^.*NEWSEVENTS_TOKEN=//p'
from users.models import User
from organizations.models import Organization
from rest_framework.authtoken.models import Token
org = Organization.objects.order_by("id").first()
user, _ = User.objects.get_or_create(email="$name@newsevents.local", defaults={"username": "$name"})
org.add_user(user) if not org.has_user(user) else None
user.active_organization = org
user.save()
print("NEWSEVENTS_TOKEN=" + Token.objects.get_or_create(user=user)[0].key)
PY
)
  [ -n "$token" ] || { echo "could not create annotator $name (see $SHOWN_LOG)" >&2; exit 1; }
  echo "export LABEL_STUDIO_URL=$URL"
  echo "export LABEL_STUDIO_API_KEY=$token"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  env) env_exports ;;
  annotator) annotator "${2:-}" ;;
  *) echo "usage: $0 install|start|stop|env|annotator NAME" >&2; exit 2 ;;
esac
