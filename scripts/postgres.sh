#!/usr/bin/env bash
# A local PostgreSQL for the test suite, from the Debian packages; safe to run again.
#
#   scripts/postgres.sh      (make postgres)
#
# Installs the server if missing (apt-get), makes sure a cluster runs on 127.0.0.1:5432
# (Debian's pg_lsclusters / pg_createcluster / pg_ctlcluster; no systemd needed), creates
# the role modelport (password modelport, LOGIN CREATEDB) and prints the URL the tests use.
# Needs root (or sudo) the first time; once the role can log in, nothing more is done.
set -euo pipefail

PORT=5432
ROLE=modelport
PASSWORD=modelport
URL="postgresql+psycopg://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}/postgres"
ME="scripts/postgres.sh"

fail() {
    echo "$ME: $*" >&2
    echo "$ME: to test against another server instead, set MODELPORT_TEST_POSTGRES_URL" \
        "(a role that may CREATE DATABASE): postgresql+psycopg://USER:PASSWORD@HOST:PORT/postgres" >&2
    exit 1
}
trap 'fail "failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        fail "need root (or sudo) to run: $*"
    fi
}

as_postgres() {  # from / : the postgres user may not read the caller's directory
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    elif command -v sudo >/dev/null; then
        (cd / && sudo -u postgres "$@")
    else
        fail "need root (or sudo) to run as the postgres user: $*"
    fi
}

# The role logs in over TCP with its password and may create databases: nothing to do.
ready() {
    command -v psql >/dev/null || return 1
    [ "$(PGPASSWORD=$PASSWORD PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -p "$PORT" -U "$ROLE" \
        -d postgres -XtAqc "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user" \
        2>/dev/null)" = "t" ]
}

if ready; then
    echo "$URL"
    exit 0
fi

# 1. The server binaries.
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null \
    || ! command -v pg_lsclusters >/dev/null; then
    echo "$ME: installing PostgreSQL (apt-get)" >&2
    as_root apt-get update -qq || fail "apt-get update failed"
    # The cluster the package creates takes its locale from the environment: C.UTF-8 always
    # exists, and sorts like SQLite (by code point).
    as_root env DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 LC_ALL=C.UTF-8 \
        apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
        || fail "apt-get install postgresql failed"
fi
VERSION=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' \
    | sed 's|/usr/lib/postgresql/\([^/]*\)/.*|\1|' | sort -n | tail -1)
[ -n "$VERSION" ] || fail "no PostgreSQL server under /usr/lib/postgresql after installing"

# 2. A cluster on port 5432, created if there is none at all.
# pg_lsclusters -h prints: version name port status owner data-directory log-file
cluster_on_port() { pg_lsclusters -h | awk -v port="$PORT" '$3 == port {print $1, $2; exit}'; }
CLUSTER=$(cluster_on_port)
if [ -z "$CLUSTER" ]; then
    if [ -n "$(pg_lsclusters -h)" ]; then
        fail "PostgreSQL clusters exist but none on port $PORT:
$(pg_lsclusters)"
    fi
    echo "$ME: creating the PostgreSQL $VERSION cluster main" >&2
    as_root pg_createcluster --locale C.UTF-8 -p "$PORT" "$VERSION" main >/dev/null \
        || fail "pg_createcluster $VERSION main failed"
    CLUSTER=$(cluster_on_port)
    [ -n "$CLUSTER" ] || fail "pg_createcluster made no cluster on port $PORT"
fi
read -r CVERSION CNAME <<<"$CLUSTER"

# 3. Running (no systemd here: pg_ctlcluster starts it directly).
if ! pg_lsclusters -h "$CVERSION" "$CNAME" | awk '{print $4}' | grep -qx online; then
    echo "$ME: starting the PostgreSQL cluster $CVERSION/$CNAME" >&2
    if [ "$(id -u)" -eq 0 ]; then  # the socket directory is lost when /run is a tmpfs
        install -d -m 2775 -o postgres -g postgres /var/run/postgresql
    fi
    as_root pg_ctlcluster "$CVERSION" "$CNAME" start || {
        LOG=$(pg_lsclusters -h "$CVERSION" "$CNAME" | awk '{print $7}')
        tail -n 20 "$LOG" >&2 2>/dev/null || true
        fail "pg_ctlcluster $CVERSION $CNAME start failed (log: $LOG)"
    }
fi
pg_isready -q -h 127.0.0.1 -p "$PORT" -t 30 \
    || fail "PostgreSQL $CVERSION/$CNAME does not accept connections on 127.0.0.1:$PORT"

# 4. The role, created or repaired (its password, LOGIN, CREATEDB).
as_postgres psql --cluster "$CVERSION/$CNAME" -d postgres -XqAt -v ON_ERROR_STOP=1 <<SQL \
    || fail "could not create the role $ROLE"
DO \$\$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
    ELSE
        CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
    END IF;
END
\$\$;
SQL

ready || fail "the role $ROLE cannot log in with its password on 127.0.0.1:$PORT
(check listen_addresses and pg_hba.conf of cluster $CVERSION/$CNAME: a 'host' line for
127.0.0.1/32 with scram-sha-256 or md5)"
echo "$URL"
