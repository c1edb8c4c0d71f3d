"""The wire protocol: framing, signing and the one decoder for inbound frames.

Every message is one ZeroMQ frame (after the identity frame a ROUTER adds):

    signature (32 bytes) | header length (4 bytes, big-endian) | header | payload

* ``signature`` is HMAC-SHA256, keyed with the manager's per-session secret,
  of the worker's identity (its length in one byte, then the identity) and
  everything after the signature: a frame is bound to the worker it is for,
  or from.  A frame whose signature does not verify is
  rejected before anything else is looked at.
* ``header`` is a msgpack map with at least ``v`` (protocol version) and ``k``
  (message kind); the other keys depend on the kind (see ``_KINDS``).
* ``payload`` (possibly empty) is one msgpack value holding user data, kept
  apart from the header so that a value the receiver cannot decode fails only
  its own task, never the channel.

One frame rather than one per part: on this machine each extra frame costs
about 15 us per message, which is most of the budget of a round trip; a large
payload costs one memory copy instead.

``decode`` is the only way inbound frames become messages: it checks size,
signature, msgpack well-formedness, version, kind and the types of the
required header fields, and raises ``ProtocolError`` naming the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from typing import Any

import msgpack

from ._constants import LARGE

PROTOCOL_VERSION = 1
SIGNATURE_BYTES = 32
_LENGTH = struct.Struct(">I")
_PREFIX = SIGNATURE_BYTES + _LENGTH.size
_compare_digest = hmac.compare_digest
_pack_header = msgpack.Packer().pack  # headers are plain maps: packing never calls back into Python, so one packer serves all threads

# kind -> {required header field: accepted type(s)}
_KINDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    # manager -> worker, task channel
    "task": {"t": int, "op": str, "want": bool},
    "stop": {},
    # worker -> manager, task channel
    "hello": {"pid": int, "level": int},
    "done": {"t": int, "ok": bool},
    "bye": {},
    # either direction, task channel: a custom message; the payload is its data, raw bytes
    "msg": {"id": int},
    # worker -> manager, task channel: a wait-object update ("msg" or "progress"); payload: the value
    "wait": {"op": str},
    # manager -> worker, control channel: abort task t; after ms (if >= 0) the worker ends itself
    "abort": {"t": int, "ms": int},
    # heartbeat channels (echoed back verbatim by the peer)
    "ping": {"n": int},
    # either direction: several messages for one peer under one signature
    "batch": {"n": int},
}
_FIELDS = {kind: tuple(fields.items()) for kind, fields in _KINDS.items()}


class ProtocolError(ValueError):
    """An inbound frame list was rejected; the message says why."""


class Message:
    """One decoded message (a plain class: ``dataclasses`` would add a fifth of a worker's start-up)."""

    __slots__ = ("kind", "header", "payload")

    def __init__(self, kind: str, header: dict, payload: bytes | memoryview) -> None:
        self.kind = kind
        self.header = header
        self.payload = payload  # empty when the message carries no value

    def __repr__(self) -> str:
        return f"Message({self.kind!r}, {self.header!r}, {bytes(self.payload)[:40]!r})"


class Rejects:
    """Counts rejected frames and reports them without flooding: the first few one by one, then a tally.

    ``report`` is called with a line to write; at most ``burst`` lines go out at once, then
    one line per ``every`` seconds saying how many more were dropped meanwhile.
    """

    __slots__ = ("count", "_report", "_clock", "_burst", "_every", "_quiet_since", "_unreported")

    def __init__(self, report, clock, burst: int = 10, every: float = 1.0) -> None:
        self.count = 0
        self._report = report
        self._clock = clock
        self._burst = burst
        self._every = every
        self._quiet_since = 0.0
        self._unreported = 0

    def __call__(self, reason: str) -> None:
        self.count += 1
        if self.count <= self._burst:
            self._report(f"dropped a message: {reason}")
            self._quiet_since = self._clock()
            return
        self._unreported += 1
        now = self._clock()
        if now - self._quiet_since >= self._every:
            self._report(f"dropped {self._unreported} more message(s) ({self.count} in all); the last: {reason}")
            self._unreported = 0
            self._quiet_since = now


class Signer:
    """HMAC-SHA256 bound to one worker's identity, with the key schedule done once.

    The MAC covers ``len(identity) (1 byte) | identity`` before the frame, so a frame signed for
    one worker verifies for no other: nobody can replay it to, or pass it off as from, another.
    The identity is absorbed here, once: each message still costs one copy and one update.
    """

    __slots__ = ("_keyed",)

    def __init__(self, secret: bytes, identity: bytes = b"") -> None:
        try:  # the C object behind hmac.new, about twice as fast to copy as the wrapper
            from _hashlib import hmac_new

            self._keyed = hmac_new(secret, digestmod="sha256")
        except ImportError:
            self._keyed = hmac.new(secret, digestmod=hashlib.sha256)
        self._keyed.update(bytes((len(identity),)) + identity)

    def sign(self, data: bytes | memoryview) -> bytes:
        mac = self._keyed.copy()
        mac.update(data)
        return mac.digest()

    def sign_parts(self, parts: tuple) -> bytes:
        mac = self._keyed.copy()
        for part in parts:
            mac.update(part)
        return mac.digest()




def encode(signer: Signer, header: dict, payload: bytes | list = b"") -> bytes:
    """The frame for one message (without the ROUTER identity frame); ``v`` is added here.

    ``payload`` may be a list of parts (a large value's, see ``_values.pack_parts``): they are
    signed where they lie and copied once, into the frame.
    """
    head = _pack_header(header if "v" in header else {"v": PROTOCOL_VERSION, **header})
    if payload.__class__ is list or len(payload) >= LARGE:  # signed where it lies, copied once: into the frame
        parts = (_LENGTH.pack(len(head)), head, *(payload if payload.__class__ is list else (payload,)))
        return b"".join((signer.sign_parts(parts), *parts))
    body = b"".join((_LENGTH.pack(len(head)), head, payload))
    return signer.sign(body) + body


def decode(signer: Signer, frame: bytes) -> Message:
    if len(frame) < _PREFIX:
        raise ProtocolError(f"frame of {len(frame)} bytes is shorter than the {_PREFIX}-byte prefix")
    view = memoryview(frame)
    if not _compare_digest(view[:SIGNATURE_BYTES], signer.sign(view[SIGNATURE_BYTES:])):
        raise ProtocolError("bad or missing signature")
    (size,) = _LENGTH.unpack_from(frame, SIGNATURE_BYTES)
    end = _PREFIX + size
    if end > len(frame):  # no cap of its own: a header may be as large as its frame (code travels in it)
        raise ProtocolError(f"header length {size} is out of bounds")
    header = _unpack(view[_PREFIX:end], "header")
    if not isinstance(header, dict):
        raise ProtocolError(f"header must be a map, got {type(header).__name__}")
    if header.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {header.get('v')!r} (expected {PROTOCOL_VERSION})")
    return Message(_check_fields(header), header, view[end:])


def encode_batch(signer: Signer, items: list[tuple[dict, bytes]]) -> bytes:
    """One frame carrying several messages; inner headers need no ``v``."""
    pairs = [[h, b"".join(p) if p.__class__ is list else p] for h, p in items]
    return encode(signer, {"k": "batch", "n": len(items)}, msgpack.packb(pairs))


def unbatch(msg: Message) -> list[Message]:
    """The messages a decoded message stands for: itself, or the contents of a batch."""
    if msg.kind != "batch":
        return [msg]
    items = _unpack(msg.payload, "batch payload")
    if not isinstance(items, list) or len(items) != msg.header["n"]:
        raise ProtocolError(f"batch payload must be a list of {msg.header['n']} [header, payload] pairs")
    messages = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], dict) and isinstance(item[1], bytes)):
            raise ProtocolError("batch items must be [header map, payload bytes] pairs")
        kind = _check_fields(item[0])
        if kind == "batch":
            raise ProtocolError("batches do not nest")
        messages.append(Message(kind, item[0], item[1]))
    return messages


def _unpack(data: bytes | memoryview, what: str) -> Any:
    try:
        return msgpack.unpackb(data)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ProtocolError(f"{what} is not valid msgpack: {exc}") from None


def _check_fields(header: dict) -> str:
    kind = header.get("k")
    fields = _FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise ProtocolError(f"unknown message kind {kind!r}")
    for name, expected in fields:
        value = header.get(name)
        if not isinstance(value, expected) or (expected is int and value.__class__ is bool):
            raise ProtocolError(f"{kind}: field {name!r} must be {_type_names(expected)}, got {value!r}")
    return kind


# ------------------------------------------------------------------ headers
# Every header either side sends is built here, so the kinds and fields of ``_KINDS`` have one
# writer as well as one reader.  Task and done headers carry ``v`` already: they are made once
# per task, on the hot path, and ``encode`` then need not copy them.


def task(fields: dict, task_id: int, want: bool) -> dict:
    """A task: ``fields`` says what to run (``op`` and its operands)."""
    return {"v": PROTOCOL_VERSION, **fields, "k": "task", "t": task_id, "want": want}


def done(task_id: int, ok: bool, run_time: float) -> dict:
    return {"v": PROTOCOL_VERSION, "k": "done", "t": task_id, "ok": ok, "dt": run_time}


def stop() -> dict:
    return {"k": "stop"}


def hello(pid: int, level: int) -> dict:
    return {"k": "hello", "pid": pid, "level": level}


def bye(code: int) -> dict:
    return {"k": "bye", "code": code}


def msg(msg_id: int) -> dict:
    return {"k": "msg", "id": msg_id}


def wait(op: str) -> dict:
    return {"k": "wait", "op": op}


def abort(task_id: int, wait_ms: int) -> dict:
    return {"k": "abort", "t": task_id, "ms": wait_ms}


def ping(n: int) -> dict:
    return {"k": "ping", "n": n}


def header(kind: str, **fields: Any) -> dict:
    """Any header, for peers that speak the protocol by hand (tests, fuzzers)."""
    return {"k": kind, **fields}


def _type_names(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(t.__name__ for t in types)
