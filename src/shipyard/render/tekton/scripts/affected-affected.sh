#!/bin/sh
set -eu
mkdir -p .shipyard
BASE_REV="${BASE:-$FALLBACK_BASE}"
case "$BASE_REV" in
  ""|0000000000000000000000000000000000000000)
    # A new branch has no "before": compare with the first commit, so everything counts as changed.
    BASE_REV="$(git rev-list --max-parents=0 HEAD | tail -n 1)" ;;
esac
# The services for the build matrix; every affected project (services and packages) for the package tests.
shipyard affected --base "$BASE_REV" --head HEAD --format matrix > .shipyard/affected.json
shipyard affected --base "$BASE_REV" --head HEAD --json > .shipyard/affected-projects.json
# Indexes, not names, go into the result: it stays small for monorepos of thousands of services.
shipyard ci batches .shipyard/affected.json --max-batches "$MAX_BATCHES" \
  --output .shipyard/batches.json --result "$RESULT_BATCHES_PATH"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --ignore-scripts; fi
