"""Frames: signing, encoding, and the one decoder every inbound frame goes through.

Every message is one ZeroMQ frame (after the identity frame a ROUTER adds), or two::

    signature (32 bytes) | header length (4 bytes, big-endian) | header | payload
    [the rest of the payload]

* ``signature`` is HMAC-SHA256, keyed with the manager's per-session secret, of the worker's
  identity (its length in one byte, then the identity) and everything after the signature: a
  frame is bound to the worker it is for, or from.  A frame whose signature does not verify is
  rejected before anything else is looked at.
* ``header`` is a msgpack map with ``v`` (protocol version) and ``k`` (message kind); the other
  fields are the kind's (``_messages``).  ``payload`` (possibly empty) is the user data.

One frame rather than one per part: on this machine each extra frame costs about 15 us per
message, which is most of the budget of a round trip.  But a large payload (``LARGE`` and more: a
64 MiB result, say) would cost a copy into that one frame, as large as the value, and on this
machine most of it in page faults: so its end (the value's bytes) travels as a second frame,
sent from where it lies, and the signature covers both frames as if they were one.

``decode`` is the only way inbound frames become messages: it checks size, signature, msgpack,
version, kind and every field, unpacks a ``batch``, and raises ``ProtocolError`` naming why.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import threading
from collections.abc import Callable
from typing import Any

import msgpack

from .._constants import LARGE
from ._messages import KINDS, PROTOCOL_VERSION, Done, Dones, Message, ProtocolError, Task, Tasks, tasks_of

SIGNATURE_BYTES = 32
_LENGTH = struct.Struct(">I")
_PREFIX = SIGNATURE_BYTES + _LENGTH.size
_compare_digest = hmac.compare_digest
_pack_header = msgpack.Packer().pack  # headers are plain maps: packing never calls back into Python, so one packer serves all threads
COPY_WHILE_SIGNING = 4 << 20  # bytes: a second frame this large is copied out while its signature is checked


class Signer:
    """HMAC-SHA256 bound to one worker's identity, with the key schedule done once.

    The MAC covers ``len(identity) (1 byte) | identity`` before the frame, so a frame signed for
    one worker verifies for no other: nobody can replay it to, or pass it off as from, another.

    HMAC is built here from two SHA-256 states, keyed once (RFC 2104, as ``hmac`` does without
    OpenSSL): copying them costs a third of what OpenSSL's HMAC object costs per small frame
    (0.70 us rather than 1.07 to sign, measured with ``timeit``), and every frame is signed once
    and checked once.  ``hashlib`` lets go of the interpreter's lock on large data, as before.
    """

    __slots__ = ("_inner", "_outer")

    BLOCK = 64  # SHA-256's block, in bytes

    def __init__(self, secret: bytes, identity: bytes = b"") -> None:
        key = hashlib.sha256(secret).digest() if len(secret) > self.BLOCK else bytes(secret)
        key = key.ljust(self.BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._inner.update(bytes((len(identity),)) + identity)
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def sign(self, data: bytes | memoryview) -> bytes:
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def sign_parts(self, parts: tuple) -> bytes:
        inner = self._inner.copy()
        for part in parts:
            inner.update(part)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class Rejects:
    """Counts rejected frames and reports them without flooding: the first few one by one, then a tally.

    ``report`` is called with a line to write; at most ``burst`` lines go out at once, then
    one line per ``every`` seconds saying how many more were dropped meanwhile.
    """

    __slots__ = ("count", "_report", "_clock", "_burst", "_every", "_quiet_since", "_unreported")

    def __init__(self, report: Callable[[str], Any], clock: Callable[[], float], burst: int = 10, every: float = 1.0) -> None:
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


def encode(signer: Signer, msg: Message) -> bytes | tuple[bytes, bytes]:
    """The frame for one message (without the ROUTER identity frame), or two frames for a large payload.

    A payload may be a list of parts (a large value's, see ``_values.pack_parts``): they are
    signed where they lie, and the last one, large, is the second frame.
    """
    return _frame(signer, msg.header(), msg.payload)


def encode_many(signer: Signer, msgs: list[Message], dones: bool = False, tasks: bool = False) -> bytes | tuple[bytes, bytes]:
    """One frame for ``msgs``: the message itself, or a ``batch`` of them under one signature.

    ``dones``: the receiver takes ``dones`` (its manager set ``PROMP_DONES``): a run of dones goes as one.
    ``tasks``: the receiver takes ``tasks`` (its hello said so): a run of tasks goes as one."""
    if dones and len(msgs) > 1:
        msgs = _in_columns(msgs, Done, Dones.of)
    if tasks and len(msgs) > 1:
        msgs = _in_columns(msgs, Task, Tasks)
    if len(msgs) == 1:
        msg = msgs[0]
        return _frame(signer, msg.header(), msg.payload)
    pairs = [[m.header(), b"".join(m.payload) if m.payload.__class__ is list else m.payload] for m in msgs]
    return _frame(signer, {"v": PROTOCOL_VERSION, "k": "batch", "n": len(msgs)}, msgpack.packb(pairs))


def _in_columns(msgs: list[Message], cls: type, columns: Callable[[list], Message]) -> list[Message]:
    """``msgs`` with each run of two or more of ``cls`` as one message, ``columns(run)``; a payload in parts (a large
    value's, sent from where it lies as a second frame) ends a run and goes alone.  Instances of a subclass count (the
    manager's tasks are its own records)."""
    out: list[Message] = []
    run: list[Message] = []
    for msg in msgs:
        if isinstance(msg, cls) and msg.payload.__class__ is bytes:
            run.append(msg)
            continue
        if run:
            out += run if len(run) == 1 else (columns(run),)
            run = []
        out.append(msg)
    if run:
        out += run if len(run) == 1 else (columns(run),)
    return out


def encode_header(signer: Signer, header: dict, payload: bytes = b"") -> bytes:
    """A frame for any header, even one no message class would make (for peers that speak by hand: tests, fuzzers)."""
    return _frame(signer, header if "v" in header else {"v": PROTOCOL_VERSION, **header}, payload)


def _frame(signer: Signer, header: dict, payload: bytes | memoryview | list) -> bytes | tuple[bytes, bytes]:
    head = _pack_header(header)
    parts = payload if payload.__class__ is list else [payload]
    tail = parts[-1]
    if len(tail) >= LARGE:  # the second frame, sent from where it lies (immutable: ZeroMQ sends it later)
        if tail.__class__ is not bytes:
            tail = bytes(tail)
        first = (_LENGTH.pack(len(head)), head, *parts[:-1])
        return b"".join((signer.sign_parts((*first, tail)), *first)), tail
    body = b"".join((_LENGTH.pack(len(head)), head, *parts))
    return signer.sign(body) + body


def decode(signer: Signer, frame: bytes | memoryview, tail: bytes | memoryview | None = None, copy_tail: bool = False) -> list[Message]:
    """The messages of one inbound frame (several for a ``batch``), and of its second frame if it has one (``tail``:
    the rest of its payload); ``ProtocolError`` says why one is refused.

    ``copy_tail``: a large tail that is a ``bytes`` value's (after a msgpack bin head for it: a result, which the
    user keeps) is wanted as ``bytes`` of its own: it is copied out while the signature is computed, on another
    thread.  Both are bound by memory, and done together they take the time of one (a 64 MiB result: 38 ms rather
    than 71).  Other values are read from where they lie."""
    if len(frame) < _PREFIX:
        raise ProtocolError(f"frame of {len(frame)} bytes is shorter than the {_PREFIX}-byte prefix")
    view = memoryview(frame)
    if tail is None:
        signed = signer.sign(view[SIGNATURE_BYTES:])
    elif copy_tail and len(tail) >= COPY_WHILE_SIGNING and tail.__class__ is not bytes and _bin_head_for(view, len(tail)):
        signed, tail = _sign_while_copying(signer, view[SIGNATURE_BYTES:], tail)
    else:
        signed = signer.sign_parts((view[SIGNATURE_BYTES:], tail))
    if not _compare_digest(view[:SIGNATURE_BYTES], signed):
        raise ProtocolError("bad or missing signature")
    (size,) = _LENGTH.unpack_from(view, SIGNATURE_BYTES)
    end = _PREFIX + size
    if end > len(frame):  # no cap of its own: a header may be as large as its frame (code travels in it)
        raise ProtocolError(f"header length {size} is out of bounds")
    header = _unpack(view[_PREFIX:end], "header")
    if not isinstance(header, dict):
        raise ProtocolError(f"header must be a map, got {type(header).__name__}")
    if header.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {header.get('v')!r} (expected {PROTOCOL_VERSION})")
    kind = header.get("k")
    payload: memoryview | bytes | list = view[end:]
    if tail is not None:  # a large value's bytes, as they came: a done keeps the two parts (one copy, by its reader)
        part = tail if tail.__class__ is bytes else memoryview(tail)
        if not payload:
            payload = part
        else:
            payload = [payload, part] if kind == "done" else b"".join((payload, tail))
    if kind == "batch":
        return _unbatch(header, payload)
    if kind == "tasks":
        return tasks_of(header, payload)
    cls = KINDS.get(kind) if kind.__class__ is str else None
    if cls is None:
        raise ProtocolError(f"unknown message kind {kind!r}")
    return [cls.from_header(header, payload)]


def _bin_head_for(view: memoryview, size: int) -> bool:
    """Whether the first frame ends with msgpack's bin 32 head for ``size`` bytes (``_values.pack_parts``'s for a
    large ``bytes`` value)."""
    return len(view) >= _PREFIX + 5 and view[-5] == 0xC6 and int.from_bytes(view[-4:], "big") == size


def _sign_while_copying(signer: Signer, head: memoryview, tail: memoryview) -> tuple[bytes, bytes | memoryview]:
    """The signature of ``head`` and ``tail``, and ``tail`` copied into ``bytes`` meanwhile (hashlib lets go of the
    interpreter's lock on large data).  Short of a thread, or of memory for the copy, it signs alone and the tail
    stays where it lies (its reader copies it, or says why it could not)."""
    signed: list[bytes] = []
    thread = threading.Thread(target=lambda: signed.append(signer.sign_parts((head, tail))), name="promp-sign")
    try:
        thread.start()
    except RuntimeError:  # no thread to be had
        return signer.sign_parts((head, tail)), tail
    copy: bytes | memoryview
    try:
        copy = bytes(tail)
    except MemoryError:
        copy = tail
    finally:
        thread.join()
    return (signed[0] if signed else signer.sign_parts((head, tail))), copy


def _unbatch(header: dict, payload: memoryview) -> list[Message]:
    n = header.get("n")
    if not isinstance(n, int) or n.__class__ is bool:
        raise ProtocolError(f"batch: field 'n' must be int, got {n!r}")
    items = _unpack(payload, "batch payload")
    if not isinstance(items, list) or len(items) != n:
        raise ProtocolError(f"batch payload must be a list of {n} [header, payload] pairs")
    messages = []
    append, kinds = messages.append, KINDS
    for item in items:  # msgpack gives these exact types, never subclasses
        if item.__class__ is not list or len(item) != 2:
            raise ProtocolError("batch items must be [header map, payload bytes] pairs")
        header, payload = item
        if header.__class__ is not dict or payload.__class__ is not bytes:
            raise ProtocolError("batch items must be [header map, payload bytes] pairs")
        kind = header.get("k")
        if kind == "tasks":
            messages += tasks_of(header, payload)
            continue
        cls = kinds.get(kind) if kind.__class__ is str else None
        if cls is None:
            raise ProtocolError("batches do not nest" if kind == "batch" else f"unknown message kind {kind!r}")
        append(cls.from_header(header, payload))
    return messages


def _unpack(data: bytes | memoryview, what: str) -> Any:
    try:
        return msgpack.unpackb(data)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ProtocolError(f"{what} is not valid msgpack: {exc}") from None
