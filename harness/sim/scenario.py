"""A seed becomes a scenario: the settings, the workload and the fault schedule of one run.

Everything random about a run is decided here, up front, as a list of timed
``Op``s (user calls, faults) plus per-op seeds for the randomness inside them
(which frames a lossy window drops).  So a run is a pure function of its
scenario, and a scenario can be shrunk by leaving ops out: removing one op
does not change what the others do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

HORIZON = (3.0, 15.0)  # seconds of simulated time in which ops happen, then the final heal


@dataclass(frozen=True)
class Settings:
    workers: int
    interval: float
    timeout: float
    start_timeout: float
    exit_grace: float
    stop_grace: float
    latency: float  # one-way delay of a frame on a healthy link, seconds
    pump: float  # 0: the user's thread waits for events (m.wait()); else it polls every ``pump`` s
    horizon: float


@dataclass(frozen=True)
class Op:
    at: float
    kind: str
    args: tuple = ()
    seed: int = 0

    def __str__(self) -> str:
        args = ", ".join(_short(a) for a in self.args)
        return f"{self.at:9.4f}  {self.kind}({args})"


@dataclass
class Scenario:
    seed: int
    settings: Settings
    ops: list[Op] = field(default_factory=list)

    def subset(self, keep: list[int]) -> Scenario:
        return Scenario(self.seed, self.settings, [self.ops[i] for i in keep])


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        return "[" + " ".join(_short(v) for v in value) + "]"
    return str(value)


# Programs a task runs in a simulated worker: a tuple of steps.
#   ("run", seconds, interruptible)   compute; an interruptible step is Python code, which ProMPAborted can stop
#   ("poll", seconds)                 compute in 10 ms slices, checking wasAborted() between them; stops if aborted
#   ("print", n) ("msg", n) ("progress", n)   output lines, custom messages, wait-object updates
#   ("raise",)  ("exit", code)  ("crash",)    fail, sys.exit(code), die (a segfault)
#   ("nest", k, n)                   start a manager with k workers, give them n tasks, wait for them, close it
def _program(rng: random.Random) -> tuple[str, tuple]:
    roll = rng.random()
    if roll < 0.55:
        return "quick", (("run", rng.uniform(0, 0.002), True),)
    if roll < 0.70:
        return "slow", (("run", rng.uniform(0.02, 1.5), rng.random() < 0.8),)
    if roll < 0.76:
        return "fails", (("run", rng.uniform(0, 0.01), True), ("raise",))
    if roll < 0.86:
        steps = []
        for _ in range(rng.randint(1, 4)):
            steps.append((rng.choice(("print", "msg", "progress")), rng.randint(1, 5)))
            steps.append(("run", rng.uniform(0, 0.05), True))
        return "talks", tuple(steps)
    if roll < 0.92:
        return "cooperative", (("poll", rng.uniform(0.1, 3.0)),)
    if roll < 0.95:
        return "forever", (("run", 1e9, rng.random() < 0.5),)
    if roll < 0.96:  # a manager of its own, one level down (the seed's multi-level examples)
        return "nests", (("run", rng.uniform(0, 0.01), True), ("nest", rng.randint(1, 2), rng.randint(1, 4)))
    if roll < 0.975:
        return "exits", (("run", rng.uniform(0, 0.05), True), ("exit", rng.choice((0, 3, 7))))
    return "crashes", (("run", rng.uniform(0, 0.1), True), ("crash",))


def generate(seed: int, max_workers: int = 4) -> Scenario:
    rng = random.Random(seed)
    interval = rng.choice((0.1, 0.25, 0.5))
    settings = Settings(
        workers=rng.randint(1, max_workers),
        interval=interval,
        timeout=rng.choice((4, 6, 10)) * interval,
        start_timeout=rng.choice((3.0, 10.0, 30.0)),
        exit_grace=0.05,
        stop_grace=rng.choice((0.3, 1.0)),
        latency=rng.choice((0.00005, 0.0002, 0.001)),
        pump=rng.choice((0.0, 0.0, 0.01, 0.1)),
        horizon=rng.uniform(*HORIZON),
    )
    ops: list[Op] = []
    h = settings.horizon
    n = settings.workers

    def when(lo: float = 0.0, hi: float = 0.8) -> float:
        return round(rng.uniform(lo * h, hi * h), 6)

    def worker() -> int:
        return rng.randint(1, n)

    for wid in range(1, n + 1):
        boot = rng.uniform(0.05, 0.3) if rng.random() < 0.9 else rng.uniform(0.3, 0.8 * settings.start_timeout)
        hangs = rng.random() < 0.03  # its start-up hangs after its echo proxy is up: it never says hello
        ops.append(Op(0.0, "start", (wid, boot, hangs)))
    if rng.random() < 0.2:
        ops.append(Op(when(0.1, 0.5), "start", (n + 1, rng.uniform(0.05, 0.3), False)))
    for _ in range(rng.randint(2, 30)):
        kind, program = _program(rng)
        roll = rng.random()
        target = "any" if roll < 0.5 else "all" if roll < 0.65 else worker()
        ops.append(Op(when(0, 0.7), "submit", (target, kind, program, rng.random() < 0.85)))
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        target = "all" if rng.random() < 0.3 else worker()
        ops.append(Op(when(), "abort", (target, rng.choice((-1, 0, rng.randint(10, 1500))))))
    if rng.random() < 0.25:  # a storm of aborts: most land near the end of some task, or keep hitting one
        start, target = when(), worker()
        wait_ms = rng.choice((100, 200, 500))
        for i in range(rng.randint(5, 40)):
            ops.append(Op(round(start + i * rng.choice((0.005, 0.02)), 6), "abort", (target, rng.choice((-1, wait_ms)))))
    if rng.random() < 0.15:  # a task for a worker that is still starting, aborted before its hello
        target = worker()
        ops.append(Op(0.0, "submit", (target, "cooperative", (("poll", rng.uniform(1.0, 3.0)),), True)))
        ops.append(Op(round(rng.uniform(0.0, 0.04), 6), "abort", (target, rng.choice((-1, rng.randint(200, 1500))))))
    for _ in range(rng.choice((0, 0, 1, 3))):
        ops.append(Op(when(), "send", ("all" if rng.random() < 0.3 else worker(),)))
    if rng.random() < 0.2:
        ops.append(Op(when(), "stop", (worker(),)))
    if rng.random() < 0.1:  # stopWorker while it is still starting
        ops.append(Op(0.0, "stop", (worker(),)))
    for _ in range(rng.choice((0, 1, 2))):  # the user's thread computes and calls nothing
        ops.append(Op(when(), "busy", (rng.uniform(0.05, 3 * settings.timeout),)))
    for _ in range(rng.choice((0, 0, 1, 2, 3, 4))):
        ops.append(_fault(rng, settings, when, worker))
    if rng.random() < 0.3:  # a burst of quick tasks alike, given without a wait between: pipelined, and read ahead
        run = ("run", rng.choice((0.00005, 0.0002, 0.0008)), True)
        program = rng.choice(((run,), (("print", 1), run), (("msg", 1), run), (("progress", 1), run)))
        start, step, want = when(0, 0.7), rng.choice((0.00002, 0.0001, 0.0005)), rng.random() < 0.9
        for i in range(rng.randint(5, 40)):
            ops.append(Op(round(start + i * step, 6), "submit", ("any", "burst", program, want, rng.randint(1, 10))))
    ops.sort(key=lambda op: op.at)
    return Scenario(seed, settings, ops)


def _fault(rng: random.Random, s: Settings, when, worker) -> Op:
    t = when(0.05, 0.9)
    seed = rng.getrandbits(32)
    roll = rng.random()
    span = rng.uniform(0.05, 2.5 * s.timeout)
    if roll < 0.14:
        return Op(t, "crash_worker", (worker(),))
    if roll < 0.19:
        return Op(t, "crash_manager")
    if roll < 0.33:
        return Op(t, "freeze_worker", (worker(), span))
    if roll < 0.43:
        return Op(t, "freeze_manager", (span,))
    if roll < 0.60:  # lossy heartbeat or control link, one direction or both
        channel = rng.choice(("beat", "echo", "ctrl"))
        return Op(t, "drop", (channel, rng.choice(("in", "out", "both")), worker(), span, rng.choice((0.2, 0.5, 1.0))), seed)
    if roll < 0.72:  # slow link: every frame delayed, with jitter (heartbeats may reorder; the task channel keeps order)
        channel = rng.choice(("task", "beat", "echo", "ctrl"))
        return Op(t, "delay", (channel, worker(), span, rng.choice((0.005, 0.05, 0.4))), seed)
    if roll < 0.82:
        channel = rng.choice(("task", "beat", "echo", "ctrl"))
        return Op(t, "duplicate", (channel, worker(), span, rng.choice((0.1, 0.5))), seed)
    if roll < 0.92:
        return Op(t, "partition", (worker(), span))
    return Op(t, "clock_jump", (rng.choice(("manager", worker())), rng.uniform(0.01, 2 * s.timeout)))
