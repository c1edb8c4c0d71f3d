"""Bugs planted on purpose in the reference's cores and drivers, one per module, each exposing the interface of
``promp.core``: ``tests/test_sim.py`` checks that ``promp-sim`` finds every one of them, with the invariant named.

The drivers' glue is planted too (``control_not_retried``, ``gone_keeps_resources``, ``message_before_output``,
``settle_without_reading``, ``held_results_forgotten``, ``stop_jumps_the_queue``,
``refused_output_jumps_the_spool``, ``read_ahead_past_output``, ``read_ahead_loses_held``): the simulator runs the same
drivers and executors as the real processes, so a bug there is a bug it can find.
"""
