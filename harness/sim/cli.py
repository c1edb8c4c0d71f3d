"""``promp-sim``: the protocol core under thousands of seeded fault schedules, replayable.

    promp-sim run --seeds 10000             seeds 0..9999; a live count, then a summary
    promp-sim run --seeds 500 --from 7000   seeds 7000..7499
    promp-sim run --seeds 1000 --workers 8  up to 8 workers per manager
    promp-sim replay 4242 --trace           one seed again: the same trace, byte for byte
    promp-sim invariants                    what every run is checked against

A violation prints the seed, the invariant, the shrunk schedule (the fewest of the seed's
ops that still break it), its trace, and a one-line command that replays it.  The exit
status is 1 when any seed breaks an invariant.  ``--core MODULE`` simulates another
sans-I/O core offering the interface of ``promp.core``.
"""

from __future__ import annotations

import argparse
import sys
import time

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from .run import DEFAULT_CORE, load_core, replay_command, run_seed, scenario_for, shrink
from .world import INVARIANTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="promp-sim", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run many seeds")
    run.add_argument("--seeds", type=int, default=1000, help="how many seeds (default 1000)")
    run.add_argument("--from", dest="start", type=int, default=0, help="the first seed (default 0)")
    run.add_argument("--stop-after", type=int, default=1, help="stop after this many violating seeds (default 1; 0: never)")
    replay = sub.add_parser("replay", help="run one seed again and show it")
    replay.add_argument("seed", type=int)
    replay.add_argument("--keep", help="only these of the seed's ops (comma-separated indices, as a shrunk run prints)")
    replay.add_argument("--trace", action="store_true", help="print every event")
    sub.add_parser("invariants", help="list the invariants")
    for p in (run, replay):
        p.add_argument("--workers", type=int, default=4, help="at most this many workers per manager (default 4)")
        p.add_argument("--core", default=DEFAULT_CORE, help=f"the sans-I/O core to drive (default {DEFAULT_CORE})")
    opts = parser.parse_args(argv)
    console = Console(highlight=False)
    if opts.command == "invariants":
        for name, text in INVARIANTS.items():
            console.print(f"[bold]{name}[/]: {text}")
        return 0
    if opts.workers < 1:
        parser.error("--workers must be at least 1")
    core = load_core(opts.core)
    if opts.command == "replay":
        keep = _parse_keep(parser, opts.keep)
        outcome = run_seed(opts.seed, core, opts.workers, keep, trace=True)
        scenario = scenario_for(opts.seed, opts.workers, keep)
        console.print(f"seed {opts.seed}: {escape(str(scenario.settings))}")
        for i, op in zip(keep if keep is not None else range(len(scenario.ops)), scenario.ops, strict=True):
            console.print(f"  op {i:3}: {escape(str(op))}")
        if opts.trace:
            print("\n".join(outcome.trace))
        verdict = "[green]no violation[/]"
        if outcome.failed:
            verdict = f"[red]{escape(str(outcome.violation))}[/] at {outcome.violation.at:.6f} s"
        console.print(f"{outcome.events} events, {outcome.simulated:.1f} s simulated: {verdict}")
        return 1 if outcome.failed else 0
    return _run(console, core, opts)


def _parse_keep(parser: argparse.ArgumentParser, text: str | None) -> list[int] | None:
    if text is None:
        return None
    if text == "none":
        return []
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        parser.error(f"--keep takes comma-separated op indices, got {text!r}")


def _run(console: Console, core, opts) -> int:
    if opts.seeds < 1:
        console.print("[red]--seeds must be at least 1[/]")
        return 2
    started = time.perf_counter()
    events = simulated = done = 0
    failures = []
    last_draw = 0.0

    def status() -> Table:
        elapsed = time.perf_counter() - started
        table = Table(box=None, show_header=False)
        table.add_row("schedules", f"{done:,} of {opts.seeds:,}", "violations", f"{len(failures)}")
        rate = simulated / max(elapsed, 1e-9)
        table.add_row("per second", f"{done / max(elapsed, 1e-9):,.0f}", "simulated", f"{simulated:,.0f} s ({rate:,.0f} s per s)")
        table.add_row("events", f"{events:,}", "wall", f"{elapsed:.1f} s")
        return table

    with Live(status(), console=console, transient=False, auto_refresh=False) as live:
        for seed in range(opts.start, opts.start + opts.seeds):
            outcome = run_seed(seed, core, opts.workers)
            done += 1
            events += outcome.events
            simulated += outcome.simulated
            if outcome.failed:
                failures.append(outcome)
            now = time.perf_counter()
            if now - last_draw > 0.2 or done == opts.seeds:
                live.update(status(), refresh=True)
                last_draw = now
            if opts.stop_after and len(failures) >= opts.stop_after:
                break
    for outcome in failures:
        _report(console, core, opts, outcome)
    return 1 if failures else 0


def _report(console: Console, core, opts, outcome) -> None:
    console.rule(f"[red]seed {outcome.seed}: {outcome.violation.invariant}")
    console.print(f"invariant: {INVARIANTS.get(outcome.violation.invariant, '?')}")
    console.print(f"violation: {escape(outcome.violation.detail)} (at {outcome.violation.at:.6f} s)")
    small = shrink(outcome.seed, core, opts.workers)
    scenario = scenario_for(outcome.seed, opts.workers, small.keep)
    console.print(f"shrunk to {len(scenario.ops)} op(s) of {len(scenario_for(outcome.seed, opts.workers).ops)}:")
    for i, op in zip(small.keep, scenario.ops, strict=True):
        console.print(f"  op {i:3}: {escape(str(op))}")
    print("\n".join(small.trace[-60:]))
    print(f"replay: {replay_command(small, opts.core, opts.workers)}")  # one line, never wrapped


if __name__ == "__main__":
    sys.exit(main())
