"""The deterministic simulator: the reference core holds every invariant, planted bugs are found and replay."""

from __future__ import annotations

import time

import pytest

from harness.sim import INVARIANTS, load_core, run_seed, shrink
from harness.sim.cli import main as sim_main
from harness.sim.run import replay_command, run_scenario, scenario_for
from harness.sim.scenario import Op, Scenario, Settings, generate

SEEDS = 10_000
CHUNKS = 4


@pytest.mark.parametrize("chunk", range(CHUNKS))
@pytest.mark.timeout(300)
def test_the_reference_cores_and_drivers_hold_every_invariant_over_ten_thousand_seeds(chunk: int):
    core = load_core()
    size = SEEDS // CHUNKS
    for seed in range(chunk * size, (chunk + 1) * size):
        outcome = run_seed(seed, core)
        assert not outcome.failed, f"seed {seed}: {outcome.violation} (replay: {replay_command(outcome)})"


# planted bug -> the invariant that must catch it
PLANTED = {
    # in the cores
    "requeues_started_task": "at-most-once",
    "clock_resets_on_ping": "orphans-exit",
    "abort_hits_running_task": "abort-aims",
    "exiting_drops_results": "result-kept",
    "any_to_exiting": "no-task-to-dead",  # the reference's own bug 1 of issue 9, put back
    "stop_drops_queued": "stop-runs-queued",  # bug 3, put back
    "abort_deadline_lingers": "no-spin",  # bug 2, put back
    "start_deadline_ignores_unread_hello": "live-not-killed",
    "abort_postpones_kill": "abort-bounded",  # issue 18's bug 2, put back
    "abort_names_newest": "abort-lands",
    "stop_kill_at_stop": "stop-runs-queued",  # issue 18's bug 7, put back
    "stop_reason_at_stop": "exit-told-true",  # issue 18's bug 6, put back
    "exit_final_without_grace": "result-kept",
    "results_as_none": "result-kept",  # issue 18's bug 9: reported, not a crash of the simulator
    # in the drivers and executors
    "control_not_retried": "abort-lands",  # issue 18's bug 1: an abort before the worker is reachable, lost
    "gone_keeps_resources": "resources-released",  # issue 18's bug 4, put back
    "message_before_output": "order",
    "refused_output_jumps_the_spool": "order",
    "settle_without_reading": "resources-released",
    "held_results_forgotten": "held-results-leave",
    "stop_jumps_the_queue": "stop-runs-queued",
    "read_ahead_past_output": "order",
    "read_ahead_loses_held": "result-kept",
}


@pytest.mark.parametrize("mutant, invariant", sorted(PLANTED.items()))
@pytest.mark.timeout(300)
def test_a_planted_bug_is_found_with_a_seed_that_replays_and_shrinks(mutant: str, invariant: str):
    core = load_core(f"tests.sim_mutants.{mutant}")
    found = next((o for seed in range(SEEDS) if (o := run_seed(seed, core)).failed), None)
    assert found is not None, f"{mutant}: no violation in {SEEDS} seeds"
    assert found.violation.invariant == invariant, str(found.violation)
    again = run_seed(found.seed, core, trace=True)
    assert run_seed(found.seed, core, trace=True).trace == again.trace  # byte for byte
    assert again.violation.invariant == invariant
    small = shrink(found.seed, core)
    assert small.violation.invariant == invariant
    assert len(small.keep) < len(generate(found.seed).ops)
    replayed = run_seed(found.seed, core, keep=small.keep, trace=True)
    assert replayed.trace == small.trace and replayed.violation.invariant == invariant


def test_a_seed_decides_the_whole_scenario():
    assert generate(123) == generate(123)
    assert generate(123) != generate(124)
    assert all(len(generate(seed, max_workers=2).ops) and generate(seed, 2).settings.workers <= 2 for seed in range(50))


def test_an_hour_of_heartbeats_costs_well_under_a_second():
    settings = Settings(
        workers=2, interval=0.5, timeout=5.0, start_timeout=30.0, exit_grace=0.05, stop_grace=1.0, latency=0.0002, pump=0.0, horizon=3600.0
    )
    quick = (("run", 0.001, True),)
    ops = [Op(0.0, "start", (1, 0.1, False)), Op(0.0, "start", (2, 0.1, False)), Op(3599.0, "submit", ("any", "quick", quick, True))]
    started = time.perf_counter()
    outcome = run_scenario(Scenario(0, settings, ops), load_core())
    assert not outcome.failed and outcome.simulated >= 3600
    assert outcome.events > 4 * 3600 / 0.5  # pings and echoes both ways, for two workers
    assert time.perf_counter() - started < 5.0  # a safety net: about 0.1 s here


def test_the_replay_command_prints_the_same_trace_every_time(capsys):
    core = "tests.sim_mutants.any_to_exiting"
    seed = str(next(seed for seed in range(100) if run_seed(seed, load_core(core)).failed))
    assert sim_main(["replay", seed, "--core", core, "--trace"]) == 1
    first = capsys.readouterr().out
    assert sim_main(["replay", seed, "--core", core, "--trace"]) == 1
    assert capsys.readouterr().out == first
    assert "no-task-to-dead" in first and "VIOLATE" in first


def test_run_shrinks_a_violation_and_prints_a_command_that_replays_it(capsys):
    core = "tests.sim_mutants.requeues_started_task"
    assert sim_main(["run", "--seeds", "20", "--core", core]) == 1
    out = capsys.readouterr().out
    assert "at-most-once" in out and "shrunk to" in out
    command = next(line for line in out.splitlines() if line.startswith("replay: ")).removeprefix("replay: ").split()
    assert command[:2] == ["promp-sim", "replay"]
    assert sim_main(command[1:]) == 1
    assert "at-most-once" in capsys.readouterr().out


def test_run_on_the_reference_exits_zero_and_counts(capsys):
    assert sim_main(["run", "--seeds", "30", "--from", "500"]) == 0
    out = capsys.readouterr().out
    assert "30 of 30" in out and "violations" in out


def test_the_simulator_has_no_glue_of_its_own():
    """It drives the implementation's drivers and executors: no copy of their dispatch, gating or action execution."""
    import inspect

    from harness.sim import manager, worker, world

    source = "".join(inspect.getsource(module) for module in (manager, worker, world))
    for glue in ("on_hello(", "on_done(", ".settle(", ".tick(", "take_user", "take_keeper", ".gate"):
        assert glue not in source, glue
    assert "UserExecutor" in source and "KeeperExecutor" in source and "MainExecutor" in source and "ControlExecutor" in source


def test_the_invariants_are_listed(capsys):
    assert sim_main(["invariants"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in INVARIANTS)


def test_scenarios_cover_the_workload_and_the_faults():
    kinds = {op.kind for seed in range(300) for op in generate(seed).ops}
    assert kinds >= {"start", "submit", "abort", "send", "stop", "busy", "crash_worker", "crash_manager", "freeze_worker"}
    assert kinds >= {"freeze_manager", "drop", "delay", "duplicate", "partition", "clock_jump"}
    programs = {op.args[1] for seed in range(300) for op in generate(seed).ops if op.kind == "submit"}
    assert programs == {"quick", "slow", "fails", "talks", "cooperative", "forever", "exits", "crashes", "nests", "burst"}


def test_a_scenario_keeps_only_the_ops_asked_for():
    scenario = scenario_for(42)
    assert scenario_for(42, keep=[0, 2]).ops == [scenario.ops[0], scenario.ops[2]]
