# Finds or makes a PostgreSQL database for Herald. Source it, then call `herald_db_setup NAME`;
# it exports DATABASE_URL.
#
# Order: DATABASE_URL if already set; else a local server on 127.0.0.1:5432 that lets the
# `postgres` user in; else a private cluster under .data/postgres (installing PostgreSQL from
# apt when missing), started on port 5433 and kept out of git.

herald_private_cluster() {
  local root data bin runas
  root="$(pwd)"
  data="$root/.data/postgres"
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "[db] installing PostgreSQL from apt" >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi
  fi
  bin="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
  # PostgreSQL refuses to run as root; as root we run it as the `postgres` system user.
  runas=()
  if [ "$(id -u)" = 0 ]; then runas=(runuser -u postgres --); fi
  mkdir -p "$root/.data"
  if [ ! -f "$data/PG_VERSION" ]; then
    echo "[db] creating a private PostgreSQL cluster in .data/postgres" >&2
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres "$data"
    "${runas[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  fi
  # TLS, as hosted databases require it (the tests connect with sslmode=require): a
  # self-signed certificate in the data directory, where PostgreSQL looks by default.
  if [ ! -f "$data/server.key" ]; then
    openssl req -new -x509 -days 3650 -nodes -subj "/CN=localhost" \
      -keyout "$data/server.key" -out "$data/server.crt" 2>/dev/null
    chmod 600 "$data/server.key"
    if [ "$(id -u)" = 0 ]; then chown postgres "$data/server.key" "$data/server.crt"; fi
  fi
  if ! "${runas[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    "${runas[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p 5433 -k /tmp -c listen_addresses=127.0.0.1 -c ssl=on" start >/dev/null
  fi
  echo "postgres://postgres@127.0.0.1:5433"
}

herald_db_setup() {
  local name="${1:-herald}" base
  if [ -n "${DATABASE_URL:-}" ]; then return 0; fi
  if command -v psql >/dev/null && psql "postgres://postgres@127.0.0.1:5432/postgres" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    base="postgres://postgres@127.0.0.1:5432"
  else
    base="$(herald_private_cluster)"
  fi
  if [ "$(psql "$base/postgres" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$name'")" != 1 ]; then
    psql "$base/postgres" -qc "CREATE DATABASE \"$name\"" >/dev/null
  fi
  export DATABASE_URL="$base/$name"
}

# Replaces database NAME with an empty one on the same server as DATABASE_URL; exports
# FRESH_DATABASE_URL for it.
herald_fresh_db() {
  local name="$1" base
  herald_db_setup herald_test
  base="${DATABASE_URL%/*}"
  psql "$base/postgres" -qc "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" -c "CREATE DATABASE \"$name\"" >/dev/null
  export FRESH_DATABASE_URL="$base/$name"
}
