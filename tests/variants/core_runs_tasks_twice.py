"""Broken: its sans-I/O core requeues the task a dead worker was running, so it runs twice."""

from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

protocolCore = "tests.sim_mutants.requeues_started_task"
