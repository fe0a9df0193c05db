#!/usr/bin/env bash
# The main job on a fresh machine: set up, generate demo data, refresh the warehouse, open the dashboard.
#   DOCUMENTS=200000 PORT=8501 scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
export BILLING_RAW_DIR="${BILLING_RAW_DIR:-data/raw}"
export BILLING_WAREHOUSE="${BILLING_WAREHOUSE:-warehouse/billing.duckdb}"
if [ ! -d "$BILLING_RAW_DIR/documents" ]; then
    billing-reports generate --out "$BILLING_RAW_DIR" --documents "${DOCUMENTS:-50000}" --seed "${SEED:-42}"
fi
# Validate, build into a new file, publish atomically, export Parquet. The demo data ends on
# 2026-10-30, so "now" for as-of reports (routing, file pickup) is the end of the demo period.
billing-reports refresh --vars "{\"as_of\": \"${AS_OF:-2026-10-31T00:00:00Z}\"}"
# Sign-in is off for the local demo only (the dashboard listens on 127.0.0.1); see docs/security.md
# to add users (`billing-reports users add NAME --role ops`) and run with sign-in.
export BILLING_AUTH="${BILLING_AUTH:-off}"
# Approvals decided on the Job approval page are written as landing files; in the demo straight
# into the landing folder, so that the next `billing-reports refresh` lands them (docs/dashboard.md).
export BILLING_OUTBOUND_DIR="${BILLING_OUTBOUND_DIR:-$BILLING_RAW_DIR}"
exec billing-reports serve --port "${PORT:-8501}"
