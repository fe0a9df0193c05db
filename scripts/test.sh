#!/usr/bin/env bash
# Every test on a fresh machine: set up, lint (ruff, sqlfluff), then pytest (which runs dbt build,
# dbt unit and data tests, the dashboard's AppTests, a real-browser test in Debian chromium, and the
# Spark parity tests: the report tests and every public mart on BILLING_ENGINE=spark too).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian chromium for the browser test"
    (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) \
        || echo "warning: could not install chromium" >&2
fi
if ! command -v java >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Java 17 for the Spark parity tests (BILLING_ENGINE=spark)"
    (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
        || echo "warning: could not install Java; the tests marked spark will fail" >&2
fi
export GX_ANALYTICS_ENABLED=False DBT_SEND_ANONYMOUS_USAGE_STATS=false
echo "==> ruff"
ruff check .
ruff format --check billing_reports dashboards tests
echo "==> sqlfluff (models; through the base_ models, the SQL the landing macros write)"
BILLING_RAW_DIR=/nonexistent BILLING_WAREHOUSE="$(mktemp -d)/lint.duckdb" sqlfluff lint models
echo "==> pytest"
pytest "$@"
