"""CI glue: webhook routing (``ci plan``), the local Tekton executor (``ci run``), the steps the rendered
pipelines call (batches, the stable release's source), and the webhook signature check."""
