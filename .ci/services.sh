# Start throwaway Redis and PostgreSQL servers on loopback; source this file.
#   start_redis PORT       -> exports CACHE_TEST_REDIS_URL
#   start_redis_cluster PORT -> three cluster nodes on PORT..PORT+2,
#                            exports CACHE_TEST_REDIS_CLUSTER_URL
#   start_postgres PORT    -> exports CACHE_TEST_DATABASE_URL
#   stop_services          -> stops what was started
# Each server lives in a temporary directory and is stopped by stop_services.

SERVICES_DIR=${SERVICES_DIR:-$(mktemp -d)}
chmod 755 "$SERVICES_DIR"

start_redis() {
    local port=$1
    if ! command -v redis-server >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    fi
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --pidfile "$SERVICES_DIR/redis-$port.pid" --logfile "$SERVICES_DIR/redis-$port.log"
    for _ in $(seq 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -p "$port" ping >/dev/null
    export CACHE_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
}

start_redis_cluster() {
    local base=$1 port nodes=()
    for port in "$base" $((base + 1)) $((base + 2)); do
        mkdir -p "$SERVICES_DIR/cluster-$port"
        redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
            --cluster-enabled yes --cluster-config-file "$SERVICES_DIR/cluster-$port/nodes.conf" \
            --dir "$SERVICES_DIR/cluster-$port" \
            --pidfile "$SERVICES_DIR/redis-$port.pid" --logfile "$SERVICES_DIR/redis-$port.log"
        nodes+=("127.0.0.1:$port")
    done
    for port in "$base" $((base + 1)) $((base + 2)); do
        for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    done
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
    for _ in $(seq 100); do
        redis-cli -p "$base" cluster info | grep -q 'cluster_state:ok' && break
        sleep 0.1
    done
    redis-cli -p "$base" cluster info | grep -q 'cluster_state:ok'
    export CACHE_TEST_REDIS_CLUSTER_URL="redis://127.0.0.1:$base/0"
}

_pg_bin() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$bin" ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    echo "$bin"
}

start_postgres() {
    local port=$1 bin data
    bin=$(_pg_bin)
    data="$SERVICES_DIR/pg-$port"
    mkdir -p "$data"
    chown postgres:postgres "$data"
    # initdb refuses to run as root: the cluster belongs to the postgres user
    su postgres -s /bin/sh -c "'$bin/initdb' -D '$data' -A trust -U postgres >/dev/null"
    su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$data' -l '$data/server.log' -w \
        -o \"-p $port -k '$data' -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null"
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres cachetest
    echo "$bin" > "$SERVICES_DIR/pg-$port.bin"
    export CACHE_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/cachetest"
}

stop_services() {
    local pid file port
    for file in "$SERVICES_DIR"/redis-*.pid; do
        [ -f "$file" ] && kill "$(cat "$file")" 2>/dev/null
    done
    for file in "$SERVICES_DIR"/pg-*.bin; do
        [ -f "$file" ] || continue
        port=$(basename "$file" .bin); port=${port#pg-}
        su postgres -s /bin/sh -c "'$(cat "$file")/pg_ctl' -D '$SERVICES_DIR/pg-$port' -m fast stop >/dev/null" || true
    done
    return 0
}
