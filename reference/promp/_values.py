"""User values on the wire: what can cross, and the errors when it cannot.

Values travel as msgpack: None, bool, int (signed or unsigned 64-bit), float,
str, bytes, list, dict and any nesting of them.  Tuples and other list-likes
arrive as lists, except as dict keys, where a list could not be one: a tuple key
arrives as a tuple (the slower way of reading, taken only for such a value).  Anything else raises ``TypeError`` at the call that tried to
send it, so nothing half-sent ever reaches a worker.
"""

from __future__ import annotations

import threading
from typing import Any

import msgpack

from ._constants import LARGE

_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1
_BIN32, _STR32 = b"\xc6", b"\xdb"  # msgpack's heads for bin and str with a 4-byte length


def _reject(value: Any) -> Any:
    if isinstance(value, int):
        raise TypeError(f"cannot send int {value!r}: it does not fit in 64 bits")
    raise TypeError(
        f"cannot send a value of type {type(value).__name__!r}: only None, bool, int, "
        "float, str, bytes, list, tuple and dict (nested) cross the process boundary"
    )


_packers = threading.local()  # a packer calls back into Python (``_reject``): one per thread, never shared


def pack(value: Any) -> bytes:
    try:
        packer = _packers.packer
    except AttributeError:
        packer = _packers.packer = msgpack.Packer(default=_reject, use_bin_type=True)
    try:
        return packer.pack(value)
    except OverflowError:
        raise TypeError(f"cannot send int {_find_big_int(value)!r}: it does not fit in 64 bits") from None
    except ValueError as exc:  # e.g. recursion too deep
        raise TypeError(f"cannot send value: {exc}") from None


def pack_parts(value: Any) -> bytes | list:
    """``pack(value)``, except that a large bytes or str value comes back as [msgpack head, the value's bytes]:
    the frame it goes into is its only copy (msgpack would make two more, each as large)."""
    cls = value.__class__
    if cls is bytes or cls is bytearray:
        if len(value) >= LARGE:
            return [_BIN32 + len(value).to_bytes(4, "big"), value]
    elif cls is str and len(value) >= LARGE:
        try:
            data = value.encode()
        except UnicodeEncodeError:  # pack() says why it cannot cross
            return pack(value)
        return [_STR32 + len(data).to_bytes(4, "big"), data]
    return pack(value)


def unpack_parts(parts: list) -> Any:
    """A value whose payload came in two parts (two frames): ``pack_parts``'s head and the value's bytes are read
    with one copy, out of the frame into the ``bytes`` or ``str`` the user gets; any other split is joined first."""
    head, data = parts
    if len(head) == 5 and head[:1] in (_BIN32, _STR32) and int.from_bytes(head[1:5], "big") == len(data):
        return bytes(data) if head[:1] == _BIN32 else str(data, "utf-8")
    return unpack(b"".join(parts))


def unpack(data: bytes) -> Any:
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
    except TypeError:  # a map key that came as an array (a tuple key): unhashable as a list, so it becomes a tuple
        return msgpack.unpackb(data, raw=False, strict_map_key=False, object_pairs_hook=_dict_with_hashable_keys)


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def _dict_with_hashable_keys(pairs: list[tuple[Any, Any]]) -> dict:
    return {_hashable(key): value for key, value in pairs}


def _find_big_int(value: Any) -> Any:
    """The first int out of 64-bit range in ``value``, for the error message."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, int) and not isinstance(item, bool) and not _INT_MIN <= item <= _INT_MAX:
            return item
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return "?"


class NTVariantList(list):
    """The seed's argument list: a ``list`` with the Qt-style accessors Cerbero scripts use."""

    def size(self) -> int:
        return len(self)

    def count(self, *value: Any) -> int:  # type: ignore[override]
        return list.count(self, *value) if value else len(self)

    def at(self, index: int) -> Any:
        return self[index]

    def isEmpty(self) -> bool:
        return not self
