"""Seed-compatible namespace: ``Pro.MP`` and ``Pro.Core`` re-export ``promp``."""
