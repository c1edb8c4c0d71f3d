"""Bugs planted on purpose in the reference's core, one per module, each exposing the interface of
``promp.core``: ``tests/test_sim.py`` checks that ``promp-sim`` finds every one of them."""
