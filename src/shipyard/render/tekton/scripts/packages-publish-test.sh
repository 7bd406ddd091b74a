#!/bin/sh
set -eu
shipyard packages test
