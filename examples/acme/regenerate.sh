#!/usr/bin/env bash
# Re-render examples/acme/gitops-config/ from a fresh `shipyard init` example (org acme, domain
# acme.example.com, Harbor at harbor.acme.example.com). The golden test compares a render with this
# tree, so run this (or `make golden`) after changing what render writes, and review the diff.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
shipyard init "$scratch/acme" --org acme --domain acme.example.com --registry harbor.acme.example.com >/dev/null
rm -rf "$here/gitops-config"
(cd "$scratch/acme" && shipyard render --out "$here/gitops-config" >/dev/null)
echo "rendered $(find "$here/gitops-config" -type f | wc -l) files into examples/acme/gitops-config/"
