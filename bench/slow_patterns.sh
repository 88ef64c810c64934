#!/usr/bin/env bash
# The hostile-pattern load test (bench/slow_patterns.py): throwaway PostgreSQL and Redis
# on their own ports, gunicorn -w 3, wrk. Writes docs/benchmarks/slow_patterns.md.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
if ! command -v wrk >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

source .ci/services.sh
trap stop_services EXIT
start_redis "${SLOW_REDIS_PORT:-6397}"
start_postgres "${SLOW_POSTGRES_PORT:-55437}"

python3 -m bench.slow_patterns
