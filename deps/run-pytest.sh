#!/usr/bin/env bash
# Runs pytest and treats "no tests collected" (exit 5) as a failure: an empty run proves nothing.
set -uo pipefail
"$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing the run" >&2
  exit 1
fi
exit "$rc"
