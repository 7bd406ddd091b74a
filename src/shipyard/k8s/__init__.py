"""Typed models of the Kubernetes objects Shipyard emits, and the deterministic YAML writer."""
