"""The worker process: its start-up, and its main thread, which runs the tasks.

Threads in a worker:

* the main thread owns the task socket: it receives tasks, runs them one at a time in order, and
  sends their results, performing the requests of the driver's loop (``WorkerDriver.main``).  No
  hand-off on the hot path.  The worker-side API (``proWorkerObject()``) runs here too, inside tasks.
* the echo thread runs ``zmq.proxy`` on the socket the manager pings, in C and without the GIL, so
  a task stuck in C code still answers heartbeats.
* the control thread (``_control``) keeps the heartbeat, watches the parent-alive pipe, receives
  aborts and sends results the main thread held too long; it ends the process when the manager is
  gone or an aborted task outlives its time.

Aborts: the control thread marks the task aborted (``wasAborted()`` turns true).  If the task is
still running after half the abort's time, the main thread gets SIGUSR1, whose handler raises
``ProMPAborted`` in the task's code (this interrupts ``time.sleep`` and any Python code; not C code
that ignores signals).  If it is still running after the whole time, the worker kills what it
started and exits with ``EXIT_ABORTED``.  These decisions are the core's, taken under the driver's
lock against the main thread's own record of what runs, so a late abort never touches the next
task and a task either finishes or is aborted.

Output needs no code here: the manager gave this process pipes as stdout and stderr and reads them
itself, so Python prints, C code and child processes are all forwarded.  ``sys.stdout`` is
line-buffered and flushed before each report is posted, which keeps output ahead of the report.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback

import zmq

from .. import _cgroups, _env, _state, _values
from .._procs import default_signals, end_descendants, set_process_name, set_subreaper
from .._stdio import flush_std_streams
from ..wire import Done, Hello, Message, Signer, Task
from ..wire._zmq import echo_forever, new_context
from ._api import ProMPAborted, ProWorker
from ._control import ControlThread
from ._core import Exit, WorkerSession
from ._driver import WAIT, Outcome, Run, WorkerDriver
from ._executors import ControlExecutor, MainExecutor
from ._port import WorkerPort, connect
from ._tasks import OPERATIONS

_plain_exit = os._exit
SEND_LINGER_MS = 2000  # how long an ending worker waits for what it sent to leave
_OWN_CODE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _from_user_code(exc: BaseException) -> BaseException:
    """``exc`` with the worker's own frames (how it called the task) cut from the front of its traceback.

    Its reader wants their code's frames; an error the worker raised itself keeps its last frame.
    """
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename.startswith(_OWN_CODE):
        tb = tb.tb_next
    return exc.with_traceback(tb)


class MainThread:
    """The main thread: performs the slow requests of the driver's loop (waiting, running tasks); the worker-side API calls it too."""

    def __init__(self, executor: MainExecutor, port: WorkerPort) -> None:
        self.executor = executor
        self.driver = executor.driver
        self.port = port
        self.in_user_code = False  # true only while a task's own code runs: where ProMPAborted may be raised
        self.messages = self.driver.messages  # custom messages from the manager, for the worker object
        self.api = ProWorker(self, self.driver.session)
        self.wait_object = self.api.waitObject()

    def run(self) -> int:
        """Run the loop until the stop, or a task asking the worker to exit; returns the exit code."""
        advance, port = self.executor.advance, self.port
        request = advance()
        while True:
            if request is WAIT:
                request = advance(port.wait())
            elif request.__class__ is Run:
                request = advance(self.run_task(request.task))
            elif request.__class__ is Exit:
                return request.code
            else:
                raise TypeError(f"the main thread does not perform {request!r}")

    def run_user_code(self, task: Task) -> tuple[bool, object]:
        """(ok, value or exception); ``ProMPAborted`` can only be raised while ``in_user_code``."""
        try:
            try:
                args = _values.unpack(task.payload) if task.payload else []
                if not isinstance(args, list):
                    raise TypeError(f"task arguments must be a list, got {type(args).__name__}")
                self.in_user_code = True
                return True, OPERATIONS[task.op](task, args)
            finally:
                self.in_user_code = False
        except BaseException as exc:
            return False, exc

    def run_task(self, task: Task) -> Outcome:
        """Run one task; its report is made here, its output flushed before the report can be posted."""
        started = time.perf_counter()
        ok, value = self.run_user_code(task)
        elapsed = time.perf_counter() - started
        exit_code = None
        if not ok and isinstance(value, SystemExit):  # the worker ends, and says why: the task did not succeed
            code = value.code
            exit_code = code if isinstance(code, int) else (0 if code is None else 1)
            value = SystemExit(f"the task called sys.exit({code!r}); the worker exits with code {exit_code}")
        elif not ok:
            value = _from_user_code(value)
            _print_error(value)
        self.wait_object.flush()  # its progress, coalesced, goes before the report
        done = Done(task.t, ok, elapsed)
        if task.want:
            if ok:
                try:
                    done.payload = _values.pack_parts(value)
                except TypeError as exc:
                    done.ok = False
                    done.payload = _values.pack(["TypeError", f"the result could not be sent: {exc}", ""])
            else:
                done.payload = _values.pack([type(value).__name__, str(value), "".join(traceback.format_exception(value))])
        flush_std_streams()  # what the task printed reaches the pipe before its report can leave
        return Outcome(done, elapsed, exit_code)

    # ----------------------------------------------------------- the worker-side API
    def send_now(self, msg: Message) -> None:
        """Send ``msg`` now, after what was posted before it and the output printed before it."""
        flush_std_streams()
        self.executor.send_now(msg)

    def receive(self, timeout: float | None) -> bool:
        """Take the next frame (waiting up to ``timeout`` s, for ever if None); False if none came."""
        self.executor.send_posted()  # nothing held while waiting: the control thread keeps off the socket
        messages = self.port.recv(timeout)
        if messages is None:
            return False
        self.executor.received(messages)
        return True

    def send_what_is_left(self, ctx: zmq.Context) -> None:
        """Send what is posted (output first), then end the context: it returns once that is on its way."""
        flush_std_streams()
        self.executor.send_posted()
        self.port.task.close(linger=SEND_LINGER_MS)
        ctx.term()


def _print_error(exc: BaseException) -> None:
    """A task's error on the worker's stderr, if the task left one that works (it may have broken or closed it):
    best effort, never an error of its own (the task's error is reported anyway, in its ``done``)."""
    try:
        traceback.print_exception(exc)
    except Exception:
        pass


def _exit_delivering(main: MainThread, ctx: zmq.Context):
    """``os._exit`` for task code: what the task printed and sent leaves before the process ends.

    ZeroMQ sends from its own I/O thread, so a plain ``os._exit`` right after ``sendMessage`` (or
    after quick results the worker holds a moment) loses them.  On the worker's main thread this
    sends the held results and flushes the standard streams, and ends the context, which waits (up
    to the task socket's linger) until what was sent is on its way.  Elsewhere (another thread of the
    task, a child forked from this process) it is the plain exit.
    """
    pid = os.getpid()

    def _exit(code: int) -> None:
        if os.getpid() == pid and threading.current_thread() is threading.main_thread():
            try:
                main.send_what_is_left(ctx)
            except Exception:  # an exit is due whatever happens here
                pass
        _plain_exit(code)

    return _exit


def _interrupt_handler(main: MainThread):
    def handler(signum: int, frame: object) -> None:
        if main.in_user_code and main.driver.session.should_interrupt():
            raise ProMPAborted(f"task {main.driver.session.current} was aborted by the manager")

    return handler


def hold_what_tasks_start(cgroup: str | None) -> None:
    """Before any task runs: in the cgroup the manager named, if the system lets this process in; else a child
    subreaper, so that what escapes the process tree (daemons, ``sleep &`` in a shell) comes back to this worker,
    which ends it when it exits."""
    if cgroup is not None and _cgroups.join(cgroup):
        _state.cgroup = cgroup
    else:
        set_subreaper(True)


def main(signals_set: bool = False) -> None:
    """The worker; ``signals_set``: forked by the zygote, whose dispositions (all default) it inherits."""
    env = {name: os.environ.pop(name, None) for name in _env.ALL}
    missing = [name for name, value in env.items() if value is None]
    if missing:
        sys.exit(f"promp worker: not started by a manager (missing {', '.join(missing)})")
    hold_what_tasks_start(os.environ.pop(_env.CGROUP_DIR, None))
    dones = os.environ.pop(_env.DONES, None) == "1"
    if not signals_set:
        default_signals()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the manager's to handle
    set_process_name(b"promp-worker")
    for stream in (sys.stdout, sys.stderr):
        # one write per line, even under -u; UTF-8 whatever the locale, as the manager reads the pipes
        stream.reconfigure(encoding="utf-8", errors="backslashreplace", line_buffering=True, write_through=False)
    _state.level = int(env[_env.LEVEL])
    identity = env[_env.WORKER_ID].encode()
    signer = Signer(_env.read_secret(int(env[_env.SECRET_FD])), identity)
    alive_fd = int(env[_env.ALIVE_FD])
    os.set_inheritable(alive_fd, False)
    interval, timeout = (float(x) for x in env[_env.HEARTBEAT].split(","))

    ctx = new_context()
    echo = connect(ctx, identity, env[_env.BEAT_ENDPOINT])
    # The control thread learns of the manager's pings from a copy the echo thread publishes: while
    # they come, the manager lives and the worker need not ping it (half the heartbeat traffic).
    heard_out, heard_in = ctx.socket(zmq.PUB), ctx.socket(zmq.SUB)
    heard_out.setsockopt(zmq.LINGER, 0)
    heard_in.setsockopt(zmq.LINGER, 0)
    heard_out.bind("inproc://promp-heard")
    heard_in.setsockopt(zmq.SUBSCRIBE, b"")
    heard_in.connect("inproc://promp-heard")
    threading.Thread(target=echo_forever, args=(echo, heard_out), name="promp-echo", daemon=True).start()
    # control and heartbeat first: by the time the manager reads the hello, they are most likely up too
    beat = connect(ctx, identity, env[_env.ECHO_ENDPOINT])
    ctrl = connect(ctx, identity, env[_env.CTRL_ENDPOINT])
    task = connect(ctx, identity, env[_env.TASK_ENDPOINT], unbounded=True)
    port = WorkerPort(task, beat, ctrl, heard_in, signer, dones)
    driver = WorkerDriver(WorkerSession(interval, timeout, time.monotonic()), time.monotonic)
    lock = threading.Lock()  # the driver's, for the main and control threads
    main_thread = MainThread(MainExecutor(driver, port, lock, driver.main(Hello(os.getpid(), _state.level, tasks=True))), port)
    signal.signal(signal.SIGUSR1, _interrupt_handler(main_thread))
    socket_dir = os.path.dirname(env[_env.TASK_ENDPOINT][len("ipc://") :]) if env[_env.TASK_ENDPOINT].startswith("ipc://") else None
    control = ControlThread(ControlExecutor(driver, port, lock), port, alive_fd, socket_dir)
    threading.Thread(target=control.run, name="promp-control", daemon=True).start()
    _state.worker = main_thread.api
    os._exit = _exit_delivering(main_thread, ctx)
    code = main_thread.run()
    end_descendants()
    main_thread.send_what_is_left(ctx)
    sys.exit(code)
