"""Broken variants of the reference, one (at least) per spec chapter.

Each module re-exports the reference's names after breaking one behaviour, and
``tests/test_spec_validates.py`` checks that the spec fails it on the clause it should.
``BROKEN`` maps each variant to that clause (or those clauses).  Breakage that lives in worker processes is
loaded there too, through ``in_workers``.
"""

BROKEN = {
    "no_variant_list": "OVR-1",
    "survives_its_manager": "LIFE-4",
    "main_thread_only": "LIFE-6",
    "any_runs_everywhere": "TASK-4",
    "any_round_robin": "TASK-4",
    "all_ready_only": "TASK-3",
    "all_reaches_later_workers": "TASK-3",
    "all_jumps_the_queue": "TASK-1",
    "paths_from_the_worker": "TASK-5",
    "loses_remote_errors": "RES-4",
    "keeps_lone_newlines": "OUT-3",
    "atomic_is_redirect": "OUT-3",
    "atomic_cuts_long_lines": "OUT-4",
    "atomic_collapses_newlines": "OUT-3",
    "stderr_to_stdout": "OUT-2",
    "stderr_inherited": ("OUT-1", "OUT-2"),
    "message_before_output": "OUT-5",
    "options_accumulate": "OUT-7",
    "warm_is_cold": "EXT-9",
    "wait_updates_at_stop": "WAIT-1",
    "message_data_unchecked": "MSG-1",
    "any_by_worker_id": ("RES-2", "MSG-5"),
    "worker_calls_from_any_thread": "BAD-10",
    "worker_never_asks": ("LIVE-3", "WIRE-6"),
    "reorders_messages": "MSG-3",
    "no_forwarding_past_one_level": "LVL-2",
    "drops_progress": "WAIT-1",
    "abort_never_kills": "ABRT-2",
    "ignores_dead_manager": ("LIVE-2", "FLT-7"),
    "slower_than_declared": ("LIVE-3", "LIVE-5"),
    "exited_worker_accepts_tasks": "FLT-3",
    "vague_worker_death": "FLT-1",
    "reruns_started_any_task": "FLT-2",
    "any_waits_for_ever": "FLT-2",
    "sends_anything": "BAD-1",
    "aborts_any_as_all": "BAD-9",
    "unsigned_frames_accepted": "WIRE-4",
    "wait_ignores_timeout": "EXT-1",
    "core_runs_tasks_twice": "SIM-1",
    "ignores_launch_hook": "WIRE-10",
    "manager_accepts_forged_frames": "WIRE-11",
    "done_ends_the_running_task": "WIRE-12",
    "manager_trusts_silent_workers": ("WIRE-13", "FLT-5"),
    "worker_runs_duplicates": "FLT-6",
    "manager_ignores_worker_exit": "FLT-8",
    "never_reaps": "FLT-8",
    "sys_exit_is_success": "FLT-9",
    "watches_parent_pid": "FLT-10",
}

