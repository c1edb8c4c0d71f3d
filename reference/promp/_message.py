"""``ProMPMessage``: a user message, an id and bytes of data."""

from __future__ import annotations

MAX_USER_ID = 0x7FFFFFFF  # higher ids are reserved for internal purposes


class ProMPMessage:
    """A custom message: ``id`` in 0 .. 0x7FFFFFFF and ``data`` bytes (empty by default)."""

    __slots__ = ("_id", "_data")

    def __init__(self, id: int = 0, data: bytes = b"") -> None:
        self.id = id
        self.data = data

    @property
    def id(self) -> int:
        return self._id

    @id.setter
    def id(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"message id must be an int, got {type(value).__name__}")
        if not 0 <= value <= MAX_USER_ID:
            raise ValueError(f"message id {value} is outside 0 .. 0x7FFFFFFF (higher ids are reserved)")
        self._id = value

    @property
    def data(self) -> bytes:
        return self._data

    @data.setter
    def data(self, value: bytes) -> None:
        if not isinstance(value, bytes):
            raise TypeError(f"message data must be bytes, got {type(value).__name__}")
        self._data = value

    def __repr__(self) -> str:
        return f"ProMPMessage({self._id}, {self._data[:40]!r}{'...' if len(self._data) > 40 else ''})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProMPMessage) and (self._id, self._data) == (other._id, other._data)

    __hash__ = None  # type: ignore[assignment]


def received(id: int, data: bytes | memoryview) -> ProMPMessage:
    """A message built from the wire, where reserved ids are the sender's business, not an error."""
    msg = ProMPMessage.__new__(ProMPMessage)
    msg._id = id
    msg._data = bytes(data)
    return msg
