"""Interoperability with other signing tools (optional extras)."""
