"""The monorepo as found on disk: services, packages and the dependency graph between them."""

from shipyard.workspace.discovery import discover
from shipyard.workspace.model import Edge, Project, ProjectKind, Workspace

__all__ = ["Edge", "Project", "ProjectKind", "Workspace", "discover"]
