"""Semantic versions with maturity (alpha, beta, stable), the alias tags they move, and version rules."""
