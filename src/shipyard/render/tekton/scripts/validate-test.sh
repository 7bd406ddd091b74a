#!/bin/sh
set -eu
# The tests of the affected packages (the affected services are tested in the build matrix).
shipyard packages test --affected .shipyard/affected-projects.json
