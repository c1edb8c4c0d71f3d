"""The reference's protocol core, free of I/O: the interface the simulator drives.

``harness.sim`` (``promp-sim``) runs a manager and its workers on a virtual
clock and an in-memory network by driving these objects, exactly as the pyzmq
shells drive them in real processes.  Another implementation with a sans-I/O
core can be simulated too by offering a module with the same names
(``promp-sim run --core MODULE``); the contract is this module's.

Manager side, ``ManagerSession(heartbeat_interval, heartbeat_timeout,
exit_grace, stop_grace, start_timeout=...)``.  Inputs (each takes ``now``,
seconds on the caller's monotonic clock, and returns a list of actions):

* user calls: ``add_worker(now) -> id``, ``submit(target, fields, payload,
  want, now)``, ``send_message(target, msg_id, data)``, ``abort(target,
  wait_ms, now)``, ``stop_worker(id, now)``;
* from the task channel: ``on_hello(id, pid, now)``, ``on_done(id, task,
  value, run_time, now)``, ``on_message(id, message)``, ``on_bye(id, now)``;
* from the heartbeat channel: ``on_echo(id, now)``; from the process:
  ``on_exit(id, code, now)``; from the transport, where it can tell (optional):
  ``on_link(id, up)``, the worker's task connection opened or ended (ended:
  everything it sent was read in, so its exit is final without the grace);
* time: ``tick(now)`` (heartbeats, kills) and ``settle(now)`` (exits made
  final, after the task channel was read); ``next_deadline()`` and
  ``settle_at()`` say when they next have work.

Queries: ``is_busy()``, ``has_results(target)``, ``take_result(target)``,
``messages.take(target)``, ``workers[id].state``.  Actions: ``Send(worker,
header, payload)`` on the task channel, ``Ping(worker, n)`` on the heartbeat
channel, ``Control(worker, header)`` on the control channel, ``Kill(worker,
reason)``, ``ReadThrough()`` (wake the thread that reads the task channel:
a decision waits for it to read through and ``settle``), ``WorkerGone(worker,
code, expected, failed_tasks, reason)``, ``Ignored(worker, reason)`` (a
message that changes nothing, such as a replayed ``done``: to be logged).

Worker side, ``WorkerSession(interval, timeout, now)``: ``begin(task) ->
bool`` (False: this id already ran here) and ``end(task) -> was_aborted``
around each task, ``was_aborted()``, ``should_interrupt()``, ``on_echo(now)``,
``on_manager_ping(now)`` (the manager's ping arrived: it lives, no ping of
the worker's is needed), ``on_abort(task, wait_ms, now)``, ``tick(now)`` returning ``PING``,
``Interrupt(task)`` and ``Exit(code, reason)`` actions, ``next_deadline()``.
"""

from ._constants import EXIT_ABORTED, EXIT_MANAGER_GONE, ProWorker_All, ProWorker_Any
from ._errors import ProMPRemoteError, ProWorkerExited
from ._liveness import PING, SILENT, HeartbeatClock
from ._manager_core import Control, Ignored, Kill, LifecycleError, ManagerSession, Ping, ReadThrough, Send, WorkerGone, WorkerState
from ._worker_core import Exit, Interrupt, WorkerSession

__all__ = [
    "EXIT_ABORTED",
    "EXIT_MANAGER_GONE",
    "PING",
    "SILENT",
    "Control",
    "Exit",
    "HeartbeatClock",
    "Ignored",
    "Interrupt",
    "Kill",
    "LifecycleError",
    "ManagerSession",
    "Ping",
    "ReadThrough",
    "ProMPRemoteError",
    "ProWorkerExited",
    "ProWorker_All",
    "ProWorker_Any",
    "Send",
    "WorkerGone",
    "WorkerSession",
    "WorkerState",
]
