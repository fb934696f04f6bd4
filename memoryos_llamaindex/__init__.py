"""Adapter package (in progress)."""
