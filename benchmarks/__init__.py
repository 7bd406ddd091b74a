"""Benchmarks: each subpackage compares Shipyard with the peer tool on the same input, in one run."""
