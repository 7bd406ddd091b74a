#!/bin/sh
set -eu
set -- --repo "$REPO" --pr "$PR_NUMBER" --token-file "$WORKSPACE_GITHUB_TOKEN_PATH/token"
set -- "$@" --pipeline-status "$PIPELINE_STATUS" --threshold "$THRESHOLD"
for report in .shipyard/scan/*.json; do
  if [ -f "$report" ]; then set -- "$@" --scan "$report"; fi
done
if [ -f .shipyard/affected.json ]; then set -- "$@" --affected .shipyard/affected.json; fi
if [ -f scan-allowlist.yaml ]; then set -- "$@" --allowlist scan-allowlist.yaml; fi
shipyard pr comment "$@"
