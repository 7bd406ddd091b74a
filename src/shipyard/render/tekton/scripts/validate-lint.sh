#!/bin/sh
set -eu
if [ -f package.json ]; then npm run lint --if-present; fi
