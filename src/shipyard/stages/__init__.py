"""The stage graph: how freight moves between environments, one model for Kargo and the local executor."""

from shipyard.stages.graph import StageGraph, StageNode, build_graph

__all__ = ["StageGraph", "StageNode", "build_graph"]
