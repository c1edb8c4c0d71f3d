"""Deterministic simulation of the protocol: the real sans-I/O core on a virtual clock and network.

``promp-sim run --seeds N`` runs N seeded scenarios (workload and faults), checks the
invariants of ``world.INVARIANTS`` at every step, and on a violation shrinks the
scenario and prints a one-line replay command; ``promp-sim replay SEED`` prints the
same trace, byte for byte, every time.  This is the one part of the harness that
drives a core rather than processes: see ``promp.core`` for the interface it needs.
"""

from .run import Outcome, load_core, replay_command, run_seed, shrink, violations
from .world import INVARIANTS, Violation

__all__ = ["INVARIANTS", "Outcome", "Violation", "load_core", "replay_command", "run_seed", "shrink", "violations"]
