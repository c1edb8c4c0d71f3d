"""The reference's protocol core and drivers, free of I/O: the interface the simulator drives.

``harness.sim`` (``promp-sim``) runs a manager and its workers on a virtual clock and an in-memory
network by driving these objects with fake sockets, pipes and processes, exactly as the pyzmq
shells drive them with real ones: the cores decide, the drivers glue the cores to the I/O, the
executors perform each thread's actions through a port.  Another implementation can be simulated
too by offering a module with the same names (``promp-sim run --core MODULE``); the contract is
this module's.

Manager side.

* ``ManagerSession(heartbeat_interval, heartbeat_timeout, exit_grace, stop_grace,
  start_timeout=...)``: the core.  Queries: ``is_busy()``, ``has_results(target)``,
  ``take_result(target)``, ``messages.has/take(target)``, ``workers[id].state``
  (``WorkerState``), ``running_task(id)``; an illegal lifecycle transition raises ``LifecycleError``.
* ``ManagerDriver(session, spool=None, held_at_most=HELD_AT_MOST)``: the way in (``receive(id, messages, now)`` for what came on the task
  channel, ``on_output``, ``on_echo``, ``on_exit``, ``on_link``; the user's calls ``add_worker``,
  ``submit``, ``send_message``, ``abort``, ``stop_worker``; ``settle``), time
  (``next_deadline()``, ``tick(now)``) and the way out (actions sorted by the thread that performs
  them: ``take_user()``, ``take_keeper()``).  ``Spool(open_file, at_most)``: where output past
  ``held_at_most`` bytes waits, in a file ``open_file()`` gives; an ``Output`` action's ``chunks``
  iterate in order and are closed by the port that writes them.
* ``UserExecutor(driver, port)`` (``pump``, ``call``, ``submit``: it reads ahead while tasks
  wait for a worker) and ``KeeperExecutor(driver, port)`` (``step(feed)``): what each of the
  manager's threads does, through a ``ManagerPort`` (its docstring lists what a port offers).
  Actions for the user's thread: ``Send``, ``Output``, ``WaitNote``, ``WorkerGone``, ``Ignored``;
  for the keeper: ``Ping``, ``Control``, ``Kill``, ``Wake``, ``Release``, ``ReadPipe``.

Worker side.

* ``WorkerSession(interval, timeout, now)``: the core (``begin``/``end`` around each task,
  ``was_aborted()``, ``on_abort``, ``on_echo``, ``on_manager_ping``, ``tick`` returning ``PING``,
  ``Interrupt(task)`` and ``Exit(code, reason)``, ``next_deadline()``; ``hold``: its ``ResultHold``).
* ``WorkerDriver(session, clock)``: ``main(hello)`` is the main thread's loop as a generator of
  requests (``WAIT``, ``PEEK``, ``SendNow``, ``Run``, ``WAKE_CONTROL``, ``Say``, ``Exit``; a
  ``Run`` is answered with an ``Outcome``); the control thread calls ``on_control``,
  ``on_manager_ping``, ``tick(now)`` and ``next_deadline(now)``; the task's own calls use
  ``post``/``take`` and ``received``.
* ``MainExecutor(driver, port, lock, driver.main(hello))`` (``advance(answer)`` performs the quick
  requests and returns the next ``WAIT``, ``Run`` or ``Exit``; ``send_now`` for a task's own
  messages) and ``ControlExecutor(driver, port, lock)`` (``step(clock, feed)``), through a
  ``WorkerPort``.

``ABORT_SAFETY``: seconds after an abort's time at which the manager kills a worker that did not
end itself.

Messages are ``wire``'s typed classes (``wire.Task``, ``wire.Done``, ...); the simulator carries each frame
through ``wire.encode_many`` and ``wire.decode`` (with a ``wire.Signer``), as the real ports do.
"""

from . import wire
from ._constants import EXIT_ABORTED, EXIT_MANAGER_GONE, ProWorker_All, ProWorker_Any
from ._errors import ProMPRemoteError, ProWorkerExited
from ._liveness import PING, SILENT, HeartbeatClock
from .manager._actions import Control, Ignored, Kill, Output, Ping, ReadPipe, Release, Send, WaitNote, Wake, WorkerGone
from .manager._core import ABORT_SAFETY, LifecycleError, ManagerSession, WorkerState
from .manager._driver import ManagerDriver
from .manager._executors import KeeperExecutor, ManagerPort, UserExecutor
from .manager._spool import Spool
from .worker._core import Exit, Interrupt, WorkerSession
from .worker._driver import PEEK, WAIT, WAKE_CONTROL, Outcome, Run, Say, SendNow, WorkerDriver
from .worker._executors import ControlExecutor, MainExecutor, WorkerPort

__all__ = [
    "ABORT_SAFETY",
    "EXIT_ABORTED",
    "EXIT_MANAGER_GONE",
    "PEEK",
    "PING",
    "SILENT",
    "WAIT",
    "WAKE_CONTROL",
    "Control",
    "ControlExecutor",
    "Exit",
    "HeartbeatClock",
    "Ignored",
    "Interrupt",
    "KeeperExecutor",
    "Kill",
    "LifecycleError",
    "MainExecutor",
    "ManagerDriver",
    "ManagerPort",
    "ManagerSession",
    "Outcome",
    "Output",
    "Ping",
    "ProMPRemoteError",
    "ProWorkerExited",
    "ProWorker_All",
    "ProWorker_Any",
    "ReadPipe",
    "Release",
    "Run",
    "Say",
    "Send",
    "SendNow",
    "Spool",
    "UserExecutor",
    "Wake",
    "WaitNote",
    "WorkerDriver",
    "WorkerGone",
    "WorkerPort",
    "WorkerSession",
    "WorkerState",
    "wire",
]
