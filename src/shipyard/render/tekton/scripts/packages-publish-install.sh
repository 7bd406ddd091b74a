#!/bin/sh
set -eu
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --ignore-scripts; fi
