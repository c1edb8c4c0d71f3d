"""Broken variants of the reference, one (at least) per spec chapter.

Each module re-exports the reference's names after breaking one behaviour, and
``tests/test_spec_validates.py`` checks that the spec fails it on the clause it should.
``BROKEN`` maps each variant to that clause.  Breakage that lives in worker processes is
loaded there too, through ``in_workers``.
"""

BROKEN = {
    "no_variant_list": "OVR-1",
    "survives_its_manager": "LIFE-4",
    "any_runs_everywhere": "TASK-4",
    "loses_remote_errors": "RES-4",
    "keeps_lone_newlines": "OUT-3",
    "reorders_messages": "MSG-3",
    "no_forwarding_past_one_level": "LVL-2",
    "drops_progress": "WAIT-1",
    "abort_never_kills": "ABRT-2",
    "ignores_dead_manager": "LIVE-2",
    "exited_worker_accepts_tasks": "FLT-3",
    "sends_anything": "BAD-1",
    "unsigned_frames_accepted": "WIRE-4",
    "wait_ignores_timeout": "EXT-1",
    "core_runs_tasks_twice": "SIM-1",
    "ignores_launch_hook": "WIRE-10",
    "manager_accepts_forged_frames": "WIRE-11",
    "done_ends_the_running_task": "WIRE-12",
    "manager_trusts_silent_workers": "WIRE-13",
}
