"""``pytest spec/`` runs the specification's examples (see harness/plugin.py)."""

pytest_plugins = ["harness.plugin"]
