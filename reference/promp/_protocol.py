"""The wire protocol: framing, signing and the one decoder for inbound frames.

Every message is a list of frames ``[signature, header, *payload]``:

* ``signature`` is HMAC-SHA256 (32 bytes) of the concatenated header and payload
  frames, keyed with the manager's per-session secret.  A frame list whose
  signature does not verify is rejected before anything else is looked at.
* ``header`` is a msgpack map with at least ``v`` (protocol version) and ``k``
  (message kind); the other keys depend on the kind (see ``_KINDS``).
* ``payload`` frames carry user values (msgpack) so that a value the receiver
  cannot decode fails only its own task, never the channel.

``decode`` is the only way inbound frames become messages: it checks size,
signature, msgpack well-formedness, version, kind and the types of the
required header fields, and raises ``ProtocolError`` naming the reason.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import msgpack

PROTOCOL_VERSION = 1
MAX_HEADER_BYTES = 64 * 1024
SIGNATURE_BYTES = 32

# kind -> {required header field: accepted type(s)}
_KINDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    # manager -> worker, task channel
    "task": {"t": int, "op": str, "want": bool},
    "stop": {},
    # worker -> manager, task channel
    "hello": {"pid": int, "level": int},
    "done": {"t": int, "ok": bool},
    "bye": {},
    # heartbeat channels (echoed back verbatim by the peer)
    "ping": {"n": int},
}


class ProtocolError(ValueError):
    """An inbound frame list was rejected; the message says why."""


@dataclass(frozen=True, slots=True)
class Message:
    kind: str
    header: dict
    payload: tuple[bytes, ...]


def sign(secret: bytes, frames: list[bytes]) -> bytes:
    return hmac.digest(secret, b"".join(frames), "sha256")


def encode(secret: bytes, header: dict, *payload: bytes) -> list[bytes]:
    """Frames for one message (without the ROUTER identity frame)."""
    body = [msgpack.packb(header), *payload]
    return [sign(secret, body), *body]


def decode(secret: bytes, frames: list[bytes]) -> Message:
    if len(frames) < 2:
        raise ProtocolError(f"expected at least 2 frames, got {len(frames)}")
    signature, header_bytes = frames[0], frames[1]
    if len(header_bytes) > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {len(header_bytes)} bytes exceeds {MAX_HEADER_BYTES}")
    if len(signature) != SIGNATURE_BYTES or not hmac.compare_digest(signature, sign(secret, frames[1:])):
        raise ProtocolError("bad or missing signature")
    try:
        header = msgpack.unpackb(header_bytes)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ProtocolError(f"header is not valid msgpack: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError(f"header must be a map, got {type(header).__name__}")
    if header.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unsupported protocol version {header.get('v')!r} (expected {PROTOCOL_VERSION})")
    kind = header.get("k")
    fields = _KINDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise ProtocolError(f"unknown message kind {kind!r}")
    for name, expected in fields.items():
        value = header.get(name)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ProtocolError(f"{kind}: field {name!r} must be {_type_names(expected)}, got {value!r}")
    return Message(kind, header, tuple(frames[2:]))


def header(kind: str, **fields: Any) -> dict:
    return {"v": PROTOCOL_VERSION, "k": kind, **fields}


def _type_names(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join(t.__name__ for t in types)
