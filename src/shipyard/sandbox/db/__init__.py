"""Sandbox databases: an anonymized clone of production masked inside PostgreSQL, or synthetic data."""
