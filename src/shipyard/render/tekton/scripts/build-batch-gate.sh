#!/bin/sh
set -eu
if [ "$PUSH" != true ]; then echo "nothing was pushed: nothing to gate"; exit 0; fi
if [ "$THRESHOLD" = none ]; then echo "the scan gate is off (severityThreshold: none)"; exit 0; fi
set --
while read -r service <&3; do set -- "$@" ".shipyard/scan/$service.json"; done 3< .shipyard/batch-"$BATCH".txt
if [ "$#" -eq 0 ]; then exit 0; fi
if [ -f scan-allowlist.yaml ]; then set -- "$@" --allowlist scan-allowlist.yaml; fi
shipyard scan gate "$@" --threshold "$THRESHOLD"
