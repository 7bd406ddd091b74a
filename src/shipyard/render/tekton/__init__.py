"""The ``tekton/`` folder of the monorepo, one job a module:

- ``target``: the render target ``render_tekton(platform, workspace) -> {path: text}``;
- ``tasks`` (with the step scripts in ``scripts/``), ``pipelines``, ``triggers`` and ``rbac``: the objects;
- ``routes`` and ``conditions``: which pipelines an event starts (``ci plan`` and the CEL filters);
- ``checks``: the references between objects that the CRD schemas leave open;
- ``images``: the pinned third-party images.

Nothing is imported here: ``ci plan`` runs on every webhook and needs only ``routes``.
"""
