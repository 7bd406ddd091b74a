#!/bin/sh
set -eu
# The affected packages and the packages they use, in dependency order: their tests run the built code.
shipyard packages build --affected .shipyard/affected-projects.json
