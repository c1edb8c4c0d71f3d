"""Broken: a ProWorker_Any task that had started on a worker that dies runs again on another one."""

from promp.manager import _api as _manager
from tests.sim_mutants.requeues_started_task import ManagerSession
from tests.variants._base import *  # noqa: F403
from tests.variants._base import __all__  # noqa: F401

_manager.ManagerSession = ManagerSession
