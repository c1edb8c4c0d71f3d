"""loky's generic executor tests, run against ``promp.Executor`` (``python tools/peer_tests.py``).

loky's source distribution ships the executor tests it derived from CPython's
``test_concurrent_futures`` (``tests/_test_process_executor.py``) with an executor mixin.  The runner
downloads it, copies this file into its ``tests/`` directory as ``test_process_executor_promp.py``,
and runs it there: the test classes below are loky's own, with a mixin that makes the executor a
``promp.Executor``.  The cases that are about loky's or ``ProcessPoolExecutor``'s internals, or
about behaviour promp changes on purpose, are skipped here with their reason (``NOT_APPLICABLE``,
also listed in ``tests/peer/README.md``); everything else must pass.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid

import pytest

import promp

from . import _executor_mixin
from ._executor_mixin import ExecutorMixin
from ._test_process_executor import AsCompletedTests, ExecutorShutdownTest, ExecutorTest, WaitTests

WHOLE_POOL = (
    "expects one dead worker to break the whole pool (every future, every later submit); "
    "promp fails only that worker's calls, replaces it and goes on (a documented difference)"
)
LOKY_INTERNALS = "reads loky's private state (_processes, _executor_manager_thread, _call_queue, _flags)"

NOT_APPLICABLE = {
    "test_interpreter_shutdown": "runs a script that imports the executor class from loky.process_executor (context=, kill_workers=)",
    "test_processes_terminate": LOKY_INTERNALS,
    "test_processes_terminate_on_executor_gc": LOKY_INTERNALS,
    "test_processes_crash_handling_after_executor_gc": WHOLE_POOL + "; and " + LOKY_INTERNALS,
    "test_context_manager_shutdown": LOKY_INTERNALS + " (joins the worker processes itself)",
    "test_del_shutdown": LOKY_INTERNALS,
    "test_shutdown_no_wait": LOKY_INTERNALS + ", and loky's ShutdownExecutorError",
    "test_shutdown_deadlock_pickle": LOKY_INTERNALS,
    "test_hang_gh94440": "runs a script that imports the executor class from loky.process_executor",
    "test_hang_issue39205": "runs a script that imports the executor class from loky.process_executor",
    "test_shutdown_and_kill_workers": "loky's kill_workers= and ShutdownExecutorError, with nested loky executors",
    "test_killed_child": WHOLE_POOL,
    "test_killed_child_with_cancelled_work_items": WHOLE_POOL + "; and " + LOKY_INTERNALS,
    "test_exited_child": WHOLE_POOL,
    "test_traceback": "checks that the cause is loky's own _RemoteTraceback class (promp's RemoteTraceback has the same .tb)",
    "test_worker_timeout": "loky's timeout= (idle workers exit); promp's workers stay for the pool's life",
    "test_serialization": "loky's job_reducers= and result_reducers=",
    "test_max_depth": "loky's MAX_DEPTH of nested executors and LokyRecursionError",
    "test_memory_leak_protection": "loky restarts workers whose memory grows (psutil); promp does not",
    "test_reference_cycle_collection": "loky's periodic garbage collection in its workers",
    "test_child_env_executor": "loky's env= argument",
    "test_viztracer_profiler": "loky starts viztracer in its workers",
    "test_viztracer_profiler_with_custom_init": "loky starts viztracer in its workers",
    "test_manager_thread_crash_breaks_executor": "patches loky's executor manager thread",
    "test_feeder_error_hook_crash_breaks_executor": "patches loky's call queue",
}


class FileEvent:
    """A ``multiprocessing.Event`` stand-in that crosses by pickle (a file's existence): the tests hand one to
    the initializer, which promp sends to its workers by pickle, where a multiprocessing Event only goes by inheritance."""

    def __init__(self) -> None:
        self.path = os.path.join(tempfile.gettempdir(), f"promp-peer-event-{uuid.uuid4().hex}")

    def set(self) -> None:
        open(self.path, "w").close()

    def clear(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def is_set(self) -> bool:
        return os.path.exists(self.path)

    def wait(self, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True


class PrompContext:
    """What the tests ask of ``cls.context``."""

    def Event(self) -> FileEvent:  # noqa: N802 - multiprocessing's name
        return FileEvent()

    def get_start_method(self) -> str:
        return "promp"


class PrompExecutor(promp.Executor):
    """``promp.Executor`` taking the loky-only keywords the generic tests pass (``context=``, ``kill_workers=``)."""

    def __init__(self, max_workers=None, *, context=None, **kwargs):
        super().__init__(max_workers, **kwargs)

    def shutdown(self, wait=True, *, cancel_futures=False, kill_workers=False):
        super().shutdown(wait, cancel_futures=cancel_futures)


class PrompMixin(ExecutorMixin):
    executor_type = PrompExecutor
    context = PrompContext()

    @pytest.fixture(autouse=True)
    def setup_method(self, request):  # the name of the mixin's fixture: this one takes its place
        reason = NOT_APPLICABLE.get(request.node.originalname)
        if reason is not None:
            pytest.skip(f"not applicable to promp: {reason}")
        self.executor = self.executor_type(
            max_workers=self.worker_count, initializer=_executor_mixin.initializer_event, initargs=(_executor_mixin._test_event,)
        )
        self.executor.submit(id, None).result(timeout=_executor_mixin.TIMEOUT)  # started, as the mixin checks
        yield
        self.executor.shutdown(wait=True)

    def teardown_method(self, method):  # the mixin's counts loky's processes: the fixture above shuts down
        pass


class TestsPrompShutdown(PrompMixin, ExecutorShutdownTest):
    pass


class TestsPrompWait(PrompMixin, WaitTests):
    pass


class TestsPrompAsCompleted(PrompMixin, AsCompletedTests):
    pass


class TestsPrompExecutor(PrompMixin, ExecutorTest):
    pass
