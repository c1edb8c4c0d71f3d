"""The manager's driver: the one piece of glue between the protocol core and the I/O, itself free of I/O.

As h11's ``Connection`` is for HTTP: what comes in enters by one door, what goes out leaves by one.

* In: decoded, typed messages (``wire.decode``, the one decoder) from a worker's task channel
  enter through ``receive``, which turns each into its core input; heartbeat answers, process
  exits, connection events and pipe reads through ``on_echo``, ``on_exit``, ``on_link``,
  ``on_output``; the user's calls through the methods named after them.
* Out: every action the core or the driver decides goes into the outbox of the thread that
  performs it (``_actions``: ``ForUser`` or ``ForKeeper``); each thread's executor
  (``_executors``) takes its own with ``take_user``/``take_keeper`` and performs them.  What is
  for a worker that has not said hello waits at the core's gate, so no caller decides that.
* Time: ``next_deadline`` is the one question the keeper asks (the core's deadlines, output lines
  waiting for their end, controls to try again), and ``tick`` does what is due.

Output travels beside the messages: the worker's pipes are read by the keeper as they fill and,
before each message of a worker is handled, by the user's thread (``drain``, done by the
executor), so that what a worker printed before it sent a message or a result is written before
that message or result can be seen.  ``OutputAssembler`` keeps the lines whole and the memory
bounded.

The pyzmq shell and the simulator (``harness.sim``) drive this same object; callers hold the
shell's lock around every call (the simulator has one thread).
"""

from __future__ import annotations

from typing import Any

from .. import _values
from .._errors import ProMPRemoteError
from .._message import received
from ..wire import Bye, Done, Dones, Hello, Message, Msg, WaitUpdate
from ._actions import Action, Control, ForUser, Ignored, Output, ReadPipe, Release, Send, WaitNote, Wake, WorkerGone
from ._core import ManagerSession
from ._output import HELD_AT_MOST, OutputAssembler
from ._spool import Spool

CONTROL_RETRY = 0.002  # seconds before a control the keeper could not send is tried again (doubling each time)
CONTROL_RETRY_AT_MOST = 0.5


class ManagerDriver:
    def __init__(self, session: ManagerSession, spool: Spool | None = None, held_at_most: int = HELD_AT_MOST) -> None:
        self.session = session
        self.output = OutputAssembler(spool, held_at_most)  # without a spool, pipes wait past the memory bound
        self.user: list[ForUser] = []  # for the user's thread, oldest first
        self.keeper: list[Action] = []  # for the keeper
        self._paused: list[tuple[int, int]] = []  # (worker, stream) pipes not read until the output is taken
        self._retry: list[Control] = []  # controls the keeper could not deliver yet
        self._retry_at: float | None = None
        self._moved = False  # a deadline of the driver's own (an unfinished line, a retry) came earlier
        self._last_now = 0.0  # the time of the latest output read: a resumed pipe's line waits from then if no time is given

    # ------------------------------------------------------------ the way in
    def receive(self, wid: int, messages: list[Message], now: float) -> None:
        """Messages from worker ``wid``'s task channel, in order (its output read so far already fed in)."""
        if self.output.unfinished:
            self.output.release(wid)  # the worker wrote it before it sent these: its lines are finished
        session = self.session
        actions: list[Action] = []
        dones: list[tuple[int, Any, float | None]] = []  # a run of dones, handled together: before any other message
        for msg in messages:
            cls = msg.__class__
            if cls is Done:
                dones.append((msg.t, result_value(wid, msg.ok, msg.payload), msg.dt))
                continue
            if cls is Dones:  # a run of dones by column: their values read in one pass
                dones += zip(msg.ts, _values_of(wid, msg.oks, msg.payloads), msg.dts, strict=True)
                continue
            if dones:
                actions += session.on_dones(wid, dones, now)
                dones = []
            if cls is Hello:
                actions += session.on_hello(wid, msg.pid, now)
            elif cls is Msg:
                actions += session.on_message(wid, received(msg.id, msg.payload))
            elif cls is WaitUpdate:
                actions.append(WaitNote(wid, msg.op, bytes(msg.payload)))
            elif cls is Bye:
                actions += session.on_bye(wid, now)
            else:
                actions.append(Ignored(wid, f"a {msg.kind!r} message from worker {wid}: workers do not send that kind"))
        if dones:
            actions += session.on_dones(wid, dones, now)
        if actions:
            self._route(actions)

    def on_output(self, wid: int, stream: int, data: bytes, now: float) -> bool:
        """A read of worker ``wid``'s pipe (b"": its end); False: stop reading it until the user's thread takes the output."""
        had, waiting = bool(self.output.pending), bool(self.output.unfinished)
        self._last_now = now
        keep = self.output.feed(wid, stream, data, now)
        if not waiting and self.output.unfinished:
            self._moved = True  # a line waits for its end: the keeper must know when to let it go
        if not keep:
            self._paused.append((wid, stream))
        if not had and self.output.pending:
            self.keeper.append(Wake())  # something for the user's thread to write
        return keep

    def on_echo(self, wid: int, now: float) -> None:
        self.session.on_echo(wid, now)

    def on_link(self, wid: int, up: bool) -> None:
        self.session.on_link(wid, up)

    def on_exit(self, wid: int, code: int | None, now: float) -> None:
        """Worker ``wid``'s process ended (its pipes read through first): what it wrote is finished."""
        self.output.release(wid)
        self._route(self.session.on_exit(wid, code, now))

    # ---------------------------------------------------------- the user's calls
    def add_worker(self, now: float) -> int:
        return self.session.add_worker(now)

    def forget_worker(self, wid: int) -> None:
        """Its process could not be started: the id is not given out, nothing of it is reported."""
        self.session.forget_worker(wid)

    def submit(self, target: int, fields: dict, payload: Any, want: bool, now: float) -> None:
        actions = self.session.submit(target, fields, payload, want, now)
        if actions:  # none when it waits in the queue
            self._route(actions)

    def send_message(self, target: int, msg_id: int, data: bytes) -> None:
        self._route(self.session.send_message(target, msg_id, data))

    def abort(self, target: int, wait_ms: int, now: float) -> None:
        self._route(self.session.abort(target, wait_ms, now))

    def stop_worker(self, wid: int, now: float) -> None:
        self._route(self.session.stop_worker(wid, now))

    def backlog(self) -> bool:
        """Whether ``ProWorker_Any`` tasks wait for a worker to take them."""
        return bool(self.session.any_queue)

    def settle(self, now: float) -> None:
        """The user's thread read the task channel through: exits can be made final."""
        actions = self.session.settle(now)
        if actions:
            self._route(actions)

    def close(self, codes: dict[int, int | None]) -> None:
        """Every worker was ended with the manager: their tasks fail now (nothing is logged or released: it all goes)."""
        self.session.close(codes)
        if self.output.spool is not None:
            self.output.spool.close()

    # ------------------------------------------------------------ time
    def next_deadline(self) -> float | None:
        times = [t for t in (self.session.next_deadline(), self.output.next_due(), self._retry_at) if t is not None]
        return min(times) if times else None

    def tick(self, now: float) -> None:
        if self._retry_at is not None and now >= self._retry_at:
            self._retry_controls(now)
        due = self.output.next_due()
        if due is not None and now >= due:
            had = bool(self.output.pending)
            self.output.release_due(now)
            if not had and self.output.pending:
                self.keeper.append(Wake())
        self._route(self.session.tick(now))

    def control_undelivered(self, control: Control, now: float) -> None:
        """The keeper could not send ``control`` (the worker's control connection is not up yet): try again soon."""
        at = now + min(CONTROL_RETRY * 2**control.retries, CONTROL_RETRY_AT_MOST)
        control.retries += 1
        self._retry.append(control)
        if self._retry_at is None or at < self._retry_at:
            self._retry_at = at
            self._moved = True

    def _retry_controls(self, now: float) -> None:
        retry, self._retry, self._retry_at = self._retry, [], None
        for control in retry:
            rec = self.session.workers.get(control.worker)
            if rec is not None and rec.running:  # a worker gone takes its aborts with it
                self.keeper.append(control)

    # ------------------------------------------------------------ the way out
    def _route(self, actions: list[Action]) -> None:
        if len(actions) == 1 and actions[0].__class__ is Send:  # the hot path: one task or message out
            self.user.append(actions[0])
            return
        user, keeper = self.user, self.keeper
        for action in actions:
            if isinstance(action, ForUser):
                user.append(action)
                if action.__class__ is WorkerGone:
                    keeper.append(Release(action.worker))  # its output is read: its descriptors can go
            else:
                keeper.append(action)

    def take_user(self, with_output: bool = True, now: float | None = None) -> list[Action]:
        """The user's thread's actions; ``with_output``: with the output read so far (only processMessages() and the waits write it).

        ``now``: when the output is taken; pipes paused for it are read again, and their unfinished lines wait from then.
        """
        actions, self.user = self.user, []
        if with_output and self.output.pending:
            actions.insert(0, Output(self.output.take()))
            if self._paused:
                for wid, stream in self._paused:
                    self._moved |= self.output.resume(wid, stream, self._last_now if now is None else now)
                self.keeper += [ReadPipe(wid, stream) for wid, stream in self._paused]
                self._paused = []
        return actions

    def take_keeper(self) -> list[Action]:
        actions, self.keeper = self.keeper, []
        return actions

    def keeper_needed(self) -> bool:
        """For a thread other than the keeper: whether the keeper must be woken (it has actions, or an earlier deadline)."""
        deadlines = self.session.deadlines
        if self._moved or deadlines.moved:
            self._moved = deadlines.moved = False
            return True
        return bool(self.keeper)


def _values_of(wid: int, oks: list[bool], payloads: list[bytes]) -> list[Any]:
    """``result_value`` of each (ok, payload) pair; all in one pass when they are plain results."""
    if all(oks):
        unpack = _values.unpack
        try:
            return [unpack(payload) if payload else None for payload in payloads]
        except Exception:
            pass  # one cannot be read: result_value says which
    return [result_value(wid, ok, payload) for ok, payload in zip(oks, payloads, strict=True)]


def result_value(wid: int, ok: bool, payload: bytes | memoryview | list) -> Any:
    """What ``takeResult`` gives for a done: the value, or a ``ProMPRemoteError`` for a failure or a value that cannot be read."""
    if not payload:
        return None
    try:
        value = _values.unpack_parts(payload) if payload.__class__ is list else _values.unpack(payload)
    except Exception as exc:
        return ProMPRemoteError("ProtocolError", f"the result could not be decoded: {exc}", "", wid)
    if ok:
        return value
    if isinstance(value, list) and len(value) == 3 and all(isinstance(x, str) for x in value):
        return ProMPRemoteError(value[0], value[1], value[2], wid)
    return ProMPRemoteError("ProtocolError", f"malformed error report {value!r}", "", wid)


__all__ = ["ManagerDriver", "Send", "result_value"]
