"""Running seeds, shrinking a failing one, replaying it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType

from .scenario import Scenario, generate
from .world import Violation, World

DEFAULT_CORE = "promp.core"


@dataclass
class Outcome:
    seed: int
    violation: Violation | None
    events: int
    simulated: float  # seconds of virtual time
    trace: list[str] = field(default_factory=list)
    keep: list[int] | None = None  # the ops kept, when the scenario was shrunk

    @property
    def failed(self) -> bool:
        return self.violation is not None


def load_core(name: str = DEFAULT_CORE) -> ModuleType:
    return importlib.import_module(name)


def scenario_for(seed: int, max_workers: int = 4, keep: list[int] | None = None) -> Scenario:
    scenario = generate(seed, max_workers)
    return scenario if keep is None else scenario.subset(keep)


def run_scenario(scenario: Scenario, core: ModuleType, trace: bool = False) -> Outcome:
    world = World(scenario, core, trace)
    violation = None
    try:
        world.run()
    except Violation as exc:
        violation = exc
    return Outcome(scenario.seed, violation, world.events, world.now, world.lines)


def run_seed(seed: int, core: ModuleType, max_workers: int = 4, keep: list[int] | None = None, trace: bool = False) -> Outcome:
    outcome = run_scenario(scenario_for(seed, max_workers, keep), core, trace)
    outcome.keep = keep
    return outcome


def violations(core: str | ModuleType = DEFAULT_CORE, seeds: int = 300, start: int = 0, max_workers: int = 4) -> dict[str, int]:
    """Invariant -> the first seed (of ``seeds`` from ``start``) that broke it: empty when every run held."""
    module = load_core(core) if isinstance(core, str) else core
    broken: dict[str, int] = {}
    for seed in range(start, start + seeds):
        outcome = run_seed(seed, module, max_workers)
        if outcome.failed:
            broken.setdefault(outcome.violation.invariant, seed)
    return broken


def shrink(seed: int, core: ModuleType, max_workers: int = 4, budget: int = 400) -> Outcome:
    """The smallest set of the seed's ops that still breaks the same invariant (greedy, chunks then single ops)."""
    full = generate(seed, max_workers)
    first = run_scenario(full, core)
    if not first.failed:
        return first
    invariant = first.violation.invariant
    keep = list(range(len(full.ops)))
    runs = 0

    def still_fails(candidate: list[int]) -> bool:
        nonlocal runs
        runs += 1
        outcome = run_scenario(full.subset(candidate), core)
        return outcome.failed and outcome.violation.invariant == invariant

    chunk = max(1, len(keep) // 2)
    while chunk >= 1 and runs < budget:
        i = 0
        while i < len(keep) and runs < budget:
            candidate = keep[:i] + keep[i + chunk :]
            if candidate != keep and still_fails(candidate):
                keep = candidate
            else:
                i += chunk
        chunk //= 2
    outcome = run_scenario(full.subset(keep), core, trace=True)
    outcome.keep = keep
    return outcome


def replay_command(outcome: Outcome, core: str = DEFAULT_CORE, max_workers: int = 4) -> str:
    parts = ["promp-sim", "replay", str(outcome.seed)]
    if outcome.keep is not None:
        parts += ["--keep", ",".join(map(str, outcome.keep)) or "none"]
    if max_workers != 4:
        parts += ["--workers", str(max_workers)]
    if core != DEFAULT_CORE:
        parts += ["--core", core]
    return " ".join(parts + ["--trace"])
