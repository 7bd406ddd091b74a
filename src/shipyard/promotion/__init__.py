"""Promotion: freight, the gates of the stage graph, the ledger of what ran where, the step registry shared
with the Kargo render, the local executor, and the board and trace that read it all back."""
