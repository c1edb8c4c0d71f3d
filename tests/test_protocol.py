"""The one decoder: everything malformed is a ProtocolError naming the reason, never anything else."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from promp._protocol import ProtocolError, Signer, decode, encode, encode_batch, header, unbatch

SIGNER = Signer(b"k" * 32)


def frame_with(head: object, payload: bytes = b"", signer: Signer = SIGNER) -> bytes:
    raw = msgpack.packb(head)
    size = len(raw).to_bytes(4, "big")
    return signer.sign(size + raw + payload) + size + raw + payload


def test_round_trip_keeps_header_and_payload():
    msg = decode(SIGNER, encode(SIGNER, header("done", t=7, ok=True, dt=0.5), b"\x05"))
    assert msg.kind == "done" and msg.header["t"] == 7 and msg.header["v"] == 1 and bytes(msg.payload) == b"\x05"


@pytest.mark.parametrize(
    "frame, reason",
    [
        (b"short", "shorter than"),
        (encode(Signer(b"other" * 8), header("stop")), "signature"),
        (b"\x00" * 32 + encode(SIGNER, header("stop"))[32:], "signature"),
        (frame_with({"v": 2, "k": "stop"}), "version"),
        (frame_with({"v": 1, "k": "launch"}), "unknown message kind"),
        (frame_with({"v": 1}), "unknown message kind"),
        (frame_with([1, "stop"]), "must be a map"),
        (frame_with({"v": 1, "k": "task", "t": "1", "op": "code", "want": True}), "field 't'"),
        (frame_with({"v": 1, "k": "task", "t": True, "op": "code", "want": True}), "field 't'"),
        (frame_with({"v": 1, "k": "done", "t": 1}), "field 'ok'"),
    ],
)
def test_malformed_frames_are_rejected_with_a_reason(frame: bytes, reason: str):
    with pytest.raises(ProtocolError, match=reason):
        decode(SIGNER, frame)


def test_header_that_is_not_msgpack_is_rejected():
    raw = b"\xc1\xc1"  # 0xc1 is never valid msgpack
    size = len(raw).to_bytes(4, "big")
    with pytest.raises(ProtocolError, match="not valid msgpack"):
        decode(SIGNER, SIGNER.sign(size + raw) + size + raw)


def test_header_length_out_of_bounds_is_rejected():
    size = (10**6).to_bytes(4, "big")
    with pytest.raises(ProtocolError, match="out of bounds"):
        decode(SIGNER, SIGNER.sign(size + b"x") + size + b"x")


def test_batches_carry_several_messages_under_one_signature():
    frame = encode_batch(SIGNER, [(header("stop"), b""), (header("done", t=1, ok=True), b"\x01")])
    msgs = unbatch(decode(SIGNER, frame))
    assert [m.kind for m in msgs] == ["stop", "done"] and msgs[1].payload == b"\x01"


@pytest.mark.parametrize(
    "items, n, reason",
    [
        ([[{"k": "stop"}, b""]], 2, "list of 2"),
        ([[{"k": "stop"}]], 1, "pairs"),
        ([[{"k": "batch", "n": 0}, b""]], 1, "do not nest"),
        ([[{"k": "nope"}, b""]], 1, "unknown message kind"),
    ],
)
def test_malformed_batches_are_rejected(items: list, n: int, reason: str):
    frame = encode(SIGNER, {"k": "batch", "n": n}, msgpack.packb(items))
    with pytest.raises(ProtocolError, match=reason):
        unbatch(decode(SIGNER, frame))


@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_protocol_error(data: bytes):
    with pytest.raises(ProtocolError):
        decode(SIGNER, data)


@given(
    st.dictionaries(st.text(max_size=5), st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(), st.booleans(), st.none()), max_size=6),
    st.binary(max_size=50),
)
def test_any_signed_header_decodes_or_is_rejected_cleanly(head: dict, payload: bytes):
    try:
        msg = decode(SIGNER, frame_with(head, payload))
    except ProtocolError:
        return
    assert msg.kind == head["k"]


def test_a_frame_signed_for_one_worker_verifies_for_no_other():
    secret = b"s" * 32
    frame = encode(Signer(secret, b"worker-a"), header("done", t=1, ok=True))
    assert decode(Signer(secret, b"worker-a"), frame).kind == "done"
    for other in (b"worker-b", b"worker-a\x00", b""):
        with pytest.raises(ProtocolError, match="signature"):
            decode(Signer(secret, other), frame)
