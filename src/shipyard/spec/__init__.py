"""The platform spec: the typed model of ``shipyard.yaml`` (``spec.model``) and its loader
(``spec.loader``). Kept import-free here so light commands do not pay for pydantic."""
