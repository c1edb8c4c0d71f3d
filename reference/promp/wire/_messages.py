"""The protocol's messages as typed classes: the one schema both sides read and write.

Each kind is a slotted class whose ``FIELDS`` map is its schema: the header fields it requires and
the types accepted for each.  ``from_header`` is the only way a decoded header becomes a message,
and it checks every field, so code past the decoder reads attributes and never meets a missing or
mistyped one.  A ``Task`` is checked by its operation too (``func_code`` needs ``src`` and ``fn``):
a task whose fields do not fit its operation becomes a ``BadTask``, which the worker answers with a
failed ``done`` naming why, rather than dropping it (its manager would wait for it for ever).

Plain classes rather than dataclasses: a worker imports this at start-up, and dataclasses cost a
fifth of that.  Every message carries ``payload`` (user data, kept apart from the header so that a
value the receiver cannot decode fails only its own task): bytes, or a memoryview of a large frame.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgpack

PROTOCOL_VERSION = 1


class ProtocolError(ValueError):
    """An inbound frame was rejected; the message says why."""


def _type_names(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(t.__name__ for t in types)


def _check(kind: str, header: dict, fields: dict[str, Any]) -> list[Any]:
    """The values of ``fields`` in ``header``, each of its accepted type (bool is not an int here)."""
    values = []
    for name, expected in fields.items():
        value = header.get(name)
        if value.__class__ is not expected and (  # the exact type, as msgpack gives it: the common case, first
            not isinstance(value, expected) or (value.__class__ is bool and expected is not bool)
        ):
            raise ProtocolError(f"{kind}: field {name!r} must be {_type_names(expected)}, got {value!r}")
        values.append(value)
    return values


class Message:
    """One message of the protocol (see the subclasses); ``kind`` is its ``k`` on the wire."""

    __slots__ = ("payload",)
    kind: ClassVar[str] = ""
    FIELDS: ClassVar[dict[str, Any]] = {}

    def header(self) -> dict[str, Any]:
        """The header map to send, the protocol version in it."""
        head = {"v": PROTOCOL_VERSION, "k": self.kind}
        for name in self.FIELDS:
            head[name] = getattr(self, name)
        return head

    @classmethod
    def from_header(cls, header: dict, payload: bytes | memoryview) -> Message:
        msg = cls(*_check(cls.kind, header, cls.FIELDS))
        msg.payload = payload
        return msg

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, s) == getattr(other, s) for s in _slots(self))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{s}={getattr(self, s)!r}" for s in _slots(self) if s != "payload")
        size = sum(map(len, self.payload)) if self.payload.__class__ is list else len(self.payload)
        return f"{type(self).__name__}({fields}{', payload=' + str(size) + ' bytes' if size else ''})"


def _slots(msg: Message) -> list[str]:
    return [s for cls in type(msg).__mro__ for s in getattr(cls, "__slots__", ())]


# --------------------------------------------------------------- manager -> worker, task channel
OPERATIONS: dict[str, dict[str, type]] = {
    "code": {"src": str},  # run src
    "script": {"path": str},  # run the file path as __main__
    "func_code": {"src": str, "fn": str},  # run src, call fn(*args)
    "func_script": {"path": str, "fn": str},  # run path, call fn(*args)
    "test": {},  # print "Test message."
    "testbox": {},  # a message box, or a printed line
}


class Task(Message):
    """Run something: ``op`` says what, with its operands ``src``, ``path``, ``fn``; the payload is the argument list."""

    kind = "task"
    FIELDS = {"t": int, "op": str, "want": bool}
    __slots__ = ("t", "op", "want", "src", "path", "fn")

    def __init__(
        self, t: int, op: str, want: bool, src: str | None = None, path: str | None = None, fn: str | None = None, payload: bytes = b""
    ) -> None:
        self.t = t
        self.op = op
        self.want = want
        self.src = src
        self.path = path
        self.fn = fn
        self.payload = payload

    def header(self) -> dict[str, Any]:
        head = {"v": PROTOCOL_VERSION, "k": "task", "t": self.t, "op": self.op, "want": self.want}
        if self.src is not None:
            head["src"] = self.src
        if self.path is not None:
            head["path"] = self.path
        if self.fn is not None:
            head["fn"] = self.fn
        return head

    @classmethod
    def from_header(cls, header: dict, payload: bytes | memoryview) -> Message:
        get = header.get
        t, op, want, src, fn = get("t"), get("op"), get("want"), get("src"), get("fn")
        if op == "func_code" and t.__class__ is int and want.__class__ is bool and src.__class__ is str and fn.__class__ is str:
            return cls(t, op, want, src, None, fn, payload)  # the most common task, as managers send it: all checked
        t, op, want = _check("task", header, cls.FIELDS)
        operands = OPERATIONS.get(op)
        try:
            if operands is None:
                raise ProtocolError(f"unknown task operation {op!r}")
            _check(f"task {op}", header, operands)
        except ProtocolError as exc:
            return BadTask(t, want, str(exc))
        src = header["src"] if "src" in operands else None  # only its operation's operands: the others are not its
        path = header["path"] if "path" in operands else None
        fn = header["fn"] if "fn" in operands else None
        return cls(t, op, want, src, path, fn, payload)


class Tasks(Message):
    """``n`` tasks at once, by column: the ``task`` messages they stand for, in order, without a header each.

    Sent only to a worker that takes them (its hello says ``tasks``).  The payload is the msgpack list
    ``[ts, ops, wants, srcs, paths, fns, payloads]``: each task's ``t``, ``op``, ``want``, operands (text, or nil
    where its operation has none) and payload (bytes).  Only the sender makes these: a receiver reads the tasks
    themselves (``tasks_of``), each checked as a ``task`` message is.
    """

    kind = "tasks"
    FIELDS = {"n": int}
    __slots__ = ("n",)

    def __init__(self, tasks: list[Task]) -> None:
        self.n = len(tasks)
        self.payload = msgpack.packb(
            [[m.t for m in tasks], [m.op for m in tasks], [m.want for m in tasks], [m.src for m in tasks], [m.path for m in tasks],
             [m.fn for m in tasks], [m.payload for m in tasks]]
        )  # fmt: skip


_OPTIONAL_TEXT = {str, type(None)}
_TASK_COLUMNS = (
    ("ts", {int}, "t an int"), ("ops", {str}, "op a str"), ("wants", {bool}, "want a bool"), ("srcs", _OPTIONAL_TEXT, "src a str or nil"),
    ("paths", _OPTIONAL_TEXT, "path a str or nil"), ("fns", _OPTIONAL_TEXT, "fn a str or nil"), ("payloads", {bytes}, "payload bytes"),
)  # fmt: skip
_DONE_COLUMNS = (("ts", {int}, "t an int"), ("oks", {bool}, "ok a bool"), ("dts", {float, int, type(None)}, "dt a number or nil"),
                 ("payloads", {bytes}, "payload bytes"))  # fmt: skip


def _columns(kind: str, header: dict, payload: bytes | memoryview, expected: tuple) -> list[list]:
    """The columns of a ``tasks`` or ``dones`` message: ``n`` items each, of the types ``expected`` names (name, types,
    what to say of a wrong one)."""
    (n,) = _check(kind, header, {"n": int})
    try:
        columns = msgpack.unpackb(payload)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ProtocolError(f"{kind}: payload is not valid msgpack: {exc}") from None
    if columns.__class__ is not list or len(columns) != len(expected) or any(c.__class__ is not list or len(c) != n for c in columns):
        names = ", ".join(name for name, _, _ in expected)
        raise ProtocolError(f"{kind}: payload must be [{names}], {len(expected)} lists of n={n} items each")
    for column, (_, types, what) in zip(columns, expected, strict=True):
        if not set(map(type, column)) <= types:  # by exact type, in C: msgpack gives no subclasses
            raise ProtocolError(f"{kind}: each {what}")
    return columns


def tasks_of(header: dict, payload: bytes | memoryview) -> list[Message]:
    """The tasks a ``tasks`` message stands for, in order: each a ``Task``, or a ``BadTask`` where its operands do not
    fit its operation (as for a ``task`` message)."""
    ts, ops, wants, srcs, paths, fns, payloads = _columns("tasks", header, payload, _TASK_COLUMNS)
    tasks: list[Message] = []
    for t, op, want, src, path, fn, data in zip(ts, ops, wants, srcs, paths, fns, payloads, strict=True):
        if op == "func_code" and src is not None and fn is not None and path is None:  # the usual case: all checked
            tasks.append(Task(t, op, want, src, None, fn, data))
        else:  # checked as its own task message would be
            head = {name: value for name, value in (("src", src), ("path", path), ("fn", fn)) if value is not None}
            tasks.append(Task.from_header({"t": t, "op": op, "want": want, **head}, data))
    return tasks


class BadTask(Message):
    """A task whose fields do not fit its operation: not run, answered with a failed ``done`` naming ``reason``."""

    kind = "task"
    __slots__ = ("t", "want", "reason")

    def __init__(self, t: int, want: bool, reason: str) -> None:
        self.t = t
        self.want = want
        self.reason = reason
        self.payload = b""


class Stop(Message):
    """Exit after the tasks already sent (answered with ``bye``)."""

    kind = "stop"
    __slots__ = ()

    def __init__(self) -> None:
        self.payload = b""


# --------------------------------------------------------------- worker -> manager, task channel
class Hello(Message):
    """The worker is up: its first message.  ``tasks``: it takes ``tasks`` messages (optional, chapter 13)."""

    kind = "hello"
    FIELDS = {"pid": int, "level": int}
    __slots__ = ("pid", "level", "tasks")

    def __init__(self, pid: int, level: int, tasks: bool = False) -> None:
        self.pid = pid
        self.level = level
        self.tasks = tasks
        self.payload = b""

    def header(self) -> dict[str, Any]:
        head = {"v": PROTOCOL_VERSION, "k": "hello", "pid": self.pid, "level": self.level}
        if self.tasks:
            head["tasks"] = True
        return head

    @classmethod
    def from_header(cls, header: dict, payload: bytes | memoryview) -> Message:
        pid, level = _check("hello", header, cls.FIELDS)
        return cls(pid, level, header.get("tasks") is True)


class Done(Message):
    """Task ``t`` ended: the payload is its result when ``ok``, else ``[type, message, traceback]``; ``dt`` its run time."""

    kind = "done"
    FIELDS = {"t": int, "ok": bool}
    __slots__ = ("t", "ok", "dt")

    def __init__(self, t: int, ok: bool, dt: float | None = None, payload: bytes | list = b"") -> None:
        self.t = t
        self.ok = ok
        self.dt = dt
        self.payload = payload

    def header(self) -> dict[str, Any]:
        head = {"v": PROTOCOL_VERSION, "k": "done", "t": self.t, "ok": self.ok}
        if self.dt is not None:
            head["dt"] = self.dt
        return head

    @classmethod
    def from_header(cls, header: dict, payload: bytes | memoryview | list) -> Message:
        """``payload``: two parts when it came in two frames (``_values.unpack_parts`` reads them with one copy)."""
        get = header.get
        t, ok, dt = get("t"), get("ok"), get("dt")
        if t.__class__ is int and ok.__class__ is bool and dt.__class__ is float:  # as workers send it: no more to check
            return cls(t, ok, dt, payload)
        t, ok = _check("done", header, cls.FIELDS)
        if dt is not None and not (isinstance(dt, (int, float)) and dt.__class__ is not bool):
            raise ProtocolError(f"done: field 'dt' must be a number, got {dt!r}")
        return cls(t, ok, dt, payload)


class Dones(Message):
    """``n`` dones at once, by column: the ``done`` messages they stand for, in order, without a header each.

    Sent only to a manager that takes them (chapter 13: it sets ``PROMP_DONES``).  The payload is the msgpack list
    ``[ts, oks, dts, payloads]``: each done's ``t`` (int), ``ok`` (bool), ``dt`` (a number, or nil) and payload (bytes,
    what its ``done`` would carry).  One msgpack value for a run of results, where a batch of dones takes a header
    map each: several times cheaper to write and to read.
    """

    kind = "dones"
    FIELDS = {"n": int}
    __slots__ = ("n", "ts", "oks", "dts", "payloads")

    def __init__(self, ts: list[int], oks: list[bool], dts: list[float | None], payloads: list[bytes], packed: bytes = b"") -> None:
        self.n = len(ts)
        self.ts = ts
        self.oks = oks
        self.dts = dts
        self.payloads = payloads
        self.payload = packed  # the four columns in msgpack, when it is to be sent

    @classmethod
    def of(cls, dones: list[Done]) -> Dones:
        """The ``dones`` (each with a ``bytes`` payload), ready to send."""
        columns = [[d.t for d in dones], [d.ok for d in dones], [d.dt for d in dones], [d.payload for d in dones]]
        return cls(*columns, msgpack.packb(columns))

    def header(self) -> dict[str, Any]:
        return {"v": PROTOCOL_VERSION, "k": "dones", "n": self.n}

    @classmethod
    def from_header(cls, header: dict, payload: bytes | memoryview) -> Message:
        return cls(*_columns("dones", header, payload, _DONE_COLUMNS))


class Bye(Message):
    """The worker is exiting with ``code`` after a ``stop``: everything it sent is in."""

    kind = "bye"
    FIELDS = {"code": int}
    __slots__ = tuple(FIELDS)

    def __init__(self, code: int) -> None:
        self.code = code
        self.payload = b""


class WaitUpdate(Message):
    """A wait-object call in the worker: ``op`` is ``msg`` (payload: the text) or ``progress`` (the value)."""

    kind = "wait"
    FIELDS = {"op": str}
    __slots__ = tuple(FIELDS)

    def __init__(self, op: str, payload: bytes = b"") -> None:
        self.op = op
        self.payload = payload


# --------------------------------------------------------------- both ways
class Msg(Message):
    """A custom message: ``id``, and its data as the raw payload."""

    kind = "msg"
    FIELDS = {"id": int}
    __slots__ = tuple(FIELDS)

    def __init__(self, id: int, payload: bytes = b"") -> None:
        self.id = id
        self.payload = payload


class Ping(Message):
    """A heartbeat: the peer's echo sends it back unchanged."""

    kind = "ping"
    FIELDS = {"n": int}
    __slots__ = tuple(FIELDS)

    def __init__(self, n: int) -> None:
        self.n = n
        self.payload = b""


# --------------------------------------------------------------- manager -> worker, control channel
class Abort(Message):
    """Abort task ``t``; with ``ms`` >= 0 the worker interrupts it after half of that and ends itself after all of it."""

    kind = "abort"
    FIELDS = {"t": int, "ms": int}
    __slots__ = tuple(FIELDS)

    def __init__(self, t: int, ms: int) -> None:
        self.t = t
        self.ms = ms
        self.payload = b""


KINDS: dict[str, type[Message]] = {cls.kind: cls for cls in (Task, Stop, Hello, Done, Dones, Bye, WaitUpdate, Msg, Ping, Abort)}
