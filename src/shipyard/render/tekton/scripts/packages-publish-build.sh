#!/bin/sh
set -eu
# Each package's own build (npm run build), in dependency order: what is published is its built files.
shipyard packages build
