"""CI on Tekton: the webhook planner (``ci plan``), its routes, and the rendered pipelines and triggers."""
