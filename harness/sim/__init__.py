"""Deterministic simulation of the protocol: the real cores and drivers on a virtual clock, network and processes.

``promp-sim run --seeds N`` runs N seeded scenarios (workload and faults), checks the
invariants of ``world.INVARIANTS`` at every step, and on a violation shrinks the
scenario and prints a one-line replay command; ``promp-sim replay SEED`` prints the
same trace, byte for byte, every time.  This is the one part of the harness that
drives an implementation's own objects rather than its processes: see ``promp.core``
for the interface it needs (cores, drivers, executors; sockets, pipes, processes and
the clock are the simulator's).
"""

from .run import Outcome, load_core, replay_command, run_seed, shrink, violations
from .world import INVARIANTS, Violation

__all__ = ["INVARIANTS", "Outcome", "Violation", "load_core", "replay_command", "run_seed", "shrink", "violations"]
