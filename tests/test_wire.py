"""The wire: typed messages from one schema, and the one decoder, where everything malformed is a ProtocolError naming why."""

from __future__ import annotations

import hashlib
import hmac

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from promp import wire
from promp.wire import BadTask, Bye, Done, Hello, Msg, ProtocolError, Signer, Stop, Task, decode, encode, encode_header, encode_many

SIGNER = Signer(b"k" * 32)


def frame_with(head: object, payload: bytes = b"", signer: Signer = SIGNER) -> bytes:
    raw = msgpack.packb(head)
    size = len(raw).to_bytes(4, "big")
    return signer.sign(size + raw + payload) + size + raw + payload


@pytest.mark.parametrize(
    "msg",
    [
        Task(3, "func_code", True, src="def f(): pass", fn="f", payload=msgpack.packb([1])),
        Task(4, "script", False, path="/x.py"),
        Task(5, "test", True),
        Done(7, True, 0.5, b"\x05"),
        Done(8, False),
        Hello(123, 2),
        Bye(0),
        Msg(9, b"data"),
        wire.WaitUpdate("progress", msgpack.packb(50)),
        wire.Ping(3),
        wire.Abort(7, 1000),
        Stop(),
    ],
    ids=lambda m: type(m).__name__,
)
def test_every_kind_round_trips_as_itself(msg: wire.Message):
    (back,) = decode(SIGNER, encode(SIGNER, msg))
    assert back == msg and bytes(back.payload) == bytes(msg.payload)


@pytest.mark.parametrize(
    "frame, reason",
    [
        (b"short", "shorter than"),
        (encode(Signer(b"other" * 8), Stop()), "signature"),
        (b"\x00" * 32 + encode(SIGNER, Stop())[32:], "signature"),
        (frame_with({"v": 2, "k": "stop"}), "version"),
        (frame_with({"v": 1, "k": "launch"}), "unknown message kind"),
        (frame_with({"v": 1}), "unknown message kind"),
        (frame_with([1, "stop"]), "must be a map"),
        (frame_with({"v": 1, "k": "task", "t": "1", "op": "code", "want": True}), "field 't'"),
        (frame_with({"v": 1, "k": "task", "t": True, "op": "code", "want": True}), "field 't'"),
        (frame_with({"v": 1, "k": "done", "t": 1}), "field 'ok'"),
        (frame_with({"v": 1, "k": "done", "t": 1, "ok": True, "dt": "1"}), "field 'dt'"),
        (frame_with({"v": 1, "k": "hello", "pid": 1}), "field 'level'"),
        (frame_with({"v": 1, "k": "bye"}), "field 'code'"),
        (frame_with({"v": 1, "k": "abort", "t": 1, "ms": 1.5}), "field 'ms'"),
    ],
)
def test_malformed_frames_are_rejected_with_a_reason(frame: bytes, reason: str):
    with pytest.raises(ProtocolError, match=reason):
        decode(SIGNER, frame)


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"op": "code"}, "field 'src'"),
        ({"op": "func_code", "src": "def f(): pass"}, "field 'fn'"),
        ({"op": "func_script", "fn": "f", "path": 3}, "field 'path'"),
        ({"op": "warp"}, "unknown task operation 'warp'"),
    ],
)
def test_a_task_whose_fields_do_not_fit_its_operation_is_refused_at_decode_as_a_bad_task(fields: dict, reason: str):
    """Not a KeyError in the worker: a BadTask the worker answers with a failed done naming why."""
    (msg,) = decode(SIGNER, encode_header(SIGNER, {"k": "task", "t": 9, "want": True, **fields}))
    assert isinstance(msg, BadTask) and msg.t == 9 and msg.want is True and reason in msg.reason


def test_header_that_is_not_msgpack_is_rejected():
    raw = b"\xc1\xc1"  # 0xc1 is never valid msgpack
    size = len(raw).to_bytes(4, "big")
    with pytest.raises(ProtocolError, match="not valid msgpack"):
        decode(SIGNER, SIGNER.sign(size + raw) + size + raw)


def test_header_length_out_of_bounds_is_rejected():
    size = (10**6).to_bytes(4, "big")
    with pytest.raises(ProtocolError, match="out of bounds"):
        decode(SIGNER, SIGNER.sign(size + b"x") + size + b"x")


def test_several_messages_go_as_one_batch_under_one_signature():
    frame = encode_many(SIGNER, [Stop(), Done(1, True, None, b"\x01")])
    assert msgpack.unpackb(frame[36 : 36 + int.from_bytes(frame[32:36], "big")])["k"] == "batch"
    msgs = decode(SIGNER, frame)
    assert [m.kind for m in msgs] == ["stop", "done"] and msgs[1].payload == b"\x01"
    assert decode(SIGNER, encode_many(SIGNER, [Stop()])) == [Stop()]  # one message is not a batch


@pytest.mark.parametrize(
    "items, n, reason",
    [
        ([[{"k": "stop"}, b""]], 2, "list of 2"),
        ([[{"k": "stop"}]], 1, "pairs"),
        ([[{"k": "batch", "n": 0}, b""]], 1, "do not nest"),
        ([[{"k": "nope"}, b""]], 1, "unknown message kind"),
        ([[{"k": "done", "t": 1}, b""]], 1, "field 'ok'"),
    ],
)
def test_malformed_batches_are_rejected(items: list, n: int, reason: str):
    frame = encode_header(SIGNER, {"k": "batch", "n": n}, msgpack.packb(items))
    with pytest.raises(ProtocolError, match=reason):
        decode(SIGNER, frame)


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
        msgs = decode(SIGNER, frame_with(head, payload))
    except ProtocolError:
        return
    assert [m.kind for m in msgs] == [head["k"]]


def test_a_frame_signed_for_one_worker_verifies_for_no_other():
    secret = b"s" * 32
    frame = encode(Signer(secret, b"worker-a"), Done(1, True))
    assert decode(Signer(secret, b"worker-a"), frame)[0].kind == "done"
    for other in (b"worker-b", b"worker-a\x00", b""):
        with pytest.raises(ProtocolError, match="signature"):
            decode(Signer(secret, other), frame)


def test_the_schema_has_one_class_per_kind_and_each_class_its_fields_as_slots():
    for kind, cls in wire._messages.KINDS.items():
        assert cls.kind == kind
        slots = {s for c in cls.__mro__ for s in getattr(c, "__slots__", ())}
        assert set(cls.FIELDS) <= slots and "payload" in slots
    assert set(wire.OPERATIONS) == {"code", "script", "func_code", "func_script", "test", "testbox"}


def test_a_large_result_goes_as_a_second_frame_sent_from_where_it_lies_and_reads_back_with_one_copy():
    from promp import _values
    from promp.manager._driver import result_value

    value = bytes(range(256)) * 1024
    first, tail = encode(SIGNER, Done(9, True, 0.1, _values.pack_parts(value)))
    assert tail is value and len(first) < 200  # no copy of the value into a frame
    (done,) = decode(SIGNER, first, tail)
    assert done.t == 9 and done.payload.__class__ is list
    assert result_value(1, True, done.payload) == value
    text = "é" * 50_000
    (done,) = decode(SIGNER, *encode(SIGNER, Done(10, True, None, _values.pack_parts(text))))
    assert result_value(1, True, done.payload) == text


@pytest.mark.parametrize("at", [0, 1, 3, 40])
def test_a_message_cut_anywhere_into_two_frames_is_the_same_message(at: int):
    msg = Task(3, "func_code", True, src="def f(*a): pass", fn="f", payload=msgpack.packb(["x" * 50, 7]))
    whole = encode(SIGNER, msg)
    size = int.from_bytes(whole[32:36], "big")
    cut = 36 + size + at
    assert decode(SIGNER, whole[:cut], whole[cut:]) == decode(SIGNER, whole)
    (back,) = decode(SIGNER, whole[:cut], whole[cut:])
    assert bytes(back.payload) == msg.payload


def test_the_signature_covers_the_second_frame_too():
    first, tail = encode(SIGNER, Done(9, True, None, [b"\xc6" + (70_000).to_bytes(4, "big"), b"a" * 70_000]))
    with pytest.raises(ProtocolError, match="signature"):
        decode(SIGNER, first, b"b" + tail[1:])
    with pytest.raises(ProtocolError, match="signature"):
        decode(SIGNER, first)  # its second frame lost


def test_a_large_result_the_manager_keeps_is_copied_out_once_while_its_signature_is_checked():
    """The manager's copy of a large value (out of ZeroMQ's buffer) is made beside the signature's computation, and
    it is the copy the user gets: no second one."""
    from promp import _values
    from promp.manager._driver import result_value
    from promp.wire._frames import COPY_WHILE_SIGNING

    value = bytes(range(256)) * (COPY_WHILE_SIGNING // 256 + 1)
    first, tail = encode(SIGNER, Done(9, True, 0.1, _values.pack_parts(value)))
    received = memoryview(bytearray(tail))  # as ZeroMQ hands a large frame over: a view of its own buffer
    (done,) = decode(SIGNER, first, received, copy_tail=True)
    copy = done.payload[1]
    assert copy.__class__ is bytes and copy == value
    got = result_value(1, True, done.payload)
    assert got == value and got is copy
    with pytest.raises(ProtocolError, match="signature"):
        decode(SIGNER, first, memoryview(b"b" + tail[1:]), copy_tail=True)
    text = "é" * (COPY_WHILE_SIGNING // 2 + 1)
    first, tail = encode(SIGNER, Done(10, True, None, _values.pack_parts(text)))
    (done,) = decode(SIGNER, first, memoryview(tail), copy_tail=True)
    assert result_value(1, True, done.payload) == text


def test_a_large_value_other_than_bytes_is_read_where_it_lies_and_no_thread_is_needed(monkeypatch):
    """Only a bytes value is copied beside the signature: text is decoded from the frame itself.  Short of a
    thread, the copy and the signature are done one after the other."""
    import threading

    from promp import _values
    from promp.manager._driver import result_value
    from promp.wire._frames import COPY_WHILE_SIGNING

    text = "é" * (COPY_WHILE_SIGNING // 2 + 1)
    first, tail = encode(SIGNER, Done(10, True, None, _values.pack_parts(text)))
    (done,) = decode(SIGNER, first, memoryview(tail), copy_tail=True)
    assert done.payload[1].__class__ is memoryview and result_value(1, True, done.payload) == text

    def no_thread(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    value = b"v" * COPY_WHILE_SIGNING
    first, tail = encode(SIGNER, Done(11, True, None, _values.pack_parts(value)))
    (done,) = decode(SIGNER, first, memoryview(bytearray(tail)), copy_tail=True)
    assert result_value(1, True, done.payload) == value
    with pytest.raises(ProtocolError, match="signature"):
        decode(SIGNER, first, memoryview(b"w" + tail[1:]), copy_tail=True)


def test_watch_returns_as_soon_as_a_message_is_there_and_otherwise_after_its_time():
    import time

    import zmq

    from promp.wire._zmq import readable, watch

    ctx = zmq.Context()
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    try:
        a.bind("inproc://watch")
        b.connect("inproc://watch")
        started = time.monotonic()
        watch(b, 0.05)
        waited = time.monotonic() - started
        assert 0.05 <= waited < 5 and not readable(b)
        a.send(b"x")
        started = time.monotonic()
        watch(b, 60.0)
        assert time.monotonic() - started < 5 and readable(b)  # not the whole minute
    finally:
        a.close(0)
        b.close(0)
        ctx.term()


# ------------------------------------------------------------------ dones: a run of results by column
def test_a_run_of_dones_goes_as_one_dones_message_only_where_the_receiver_takes_it():
    sent = [Done(1, True, 0.5, b"\x01"), Done(2, False, None, b"\x93\xa1E\xa1m\xa0"), Msg(7, b"m"), Done(3, True, 0.1, b"")]
    plain = decode(SIGNER, encode_many(SIGNER, sent))
    assert plain == sent  # not taken: a batch of done messages, as before
    compact = decode(SIGNER, encode_many(SIGNER, sent, dones=True))
    assert [m.kind for m in compact] == ["dones", "msg", "done"]  # a lone done between others stays a done
    run = compact[0]
    assert (run.n, run.ts, run.oks, run.dts, run.payloads) == (2, [1, 2], [True, False], [0.5, None], [b"\x01", b"\x93\xa1E\xa1m\xa0"])


def test_a_lone_dones_frame_reads_back_and_a_large_result_stays_a_done_of_its_own():
    from promp._values import pack_parts

    big = Done(9, True, 0.2, pack_parts(bytes(1 << 17)))  # two parts: it goes as a second frame, never in a column
    frame = encode_many(SIGNER, [Done(7, True, 0.1, b"\x07"), Done(8, True, 0.1, b"\x08"), big], dones=True)
    msgs = decode(SIGNER, *frame)
    assert [m.kind for m in msgs] == ["dones", "done"] and msgs[0].ts == [7, 8] and msgs[1].t == 9
    (lone,) = decode(SIGNER, encode_many(SIGNER, [Done(1, True, 0.1, b"\x01"), Done(2, True, 0.1, b"\x02")], dones=True))
    assert lone.kind == "dones" and lone.payloads == [b"\x01", b"\x02"]


@pytest.mark.parametrize(
    "n, columns, reason",
    [
        (2, b"\xc1", "not valid msgpack"),
        (2, [[1, 2], [True, True], [0.1, 0.1]], "4 lists"),
        (3, [[1, 2], [True, True], [0.1, 0.1], [b"", b""]], "n=3"),
        (2, [[1, "2"], [True, True], [0.1, 0.1], [b"", b""]], "t an int"),
        (2, [[1, True], [True, True], [0.1, 0.1], [b"", b""]], "t an int"),
        (2, [[1, 2], [True, 1], [0.1, 0.1], [b"", b""]], "ok a bool"),
        (2, [[1, 2], [True, True], [0.1, "0"], [b"", b""]], "dt a number or nil"),
        (2, [[1, 2], [True, True], [0.1, False], [b"", b""]], "dt a number or nil"),
        (2, [[1, 2], [True, True], [0.1, 0.1], [b"", "x"]], "payload bytes"),
        ("2", [[1, 2], [True, True], [0.1, 0.1], [b"", b""]], "field 'n'"),
    ],
)
def test_malformed_dones_are_rejected_with_what_is_wrong(n: object, columns: object, reason: str):
    assert_columns_rejected("dones", n, columns, reason)


def assert_columns_rejected(kind: str, n: object, columns: object, reason: str) -> None:
    """A ``dones`` or ``tasks`` message of these columns is refused for ``reason``, alone and inside a batch."""
    payload = columns if isinstance(columns, bytes) else msgpack.packb(columns)
    with pytest.raises(ProtocolError, match=reason):
        decode(SIGNER, encode_header(SIGNER, {"k": kind, "n": n}, payload))
    with pytest.raises(ProtocolError, match=reason):
        decode(SIGNER, encode_header(SIGNER, {"k": "batch", "n": 1}, msgpack.packb([[{"k": kind, "n": n}, payload]])))


# ------------------------------------------------------------------ tasks: a run of tasks by column
def test_a_run_of_tasks_goes_as_one_tasks_message_only_to_a_worker_that_takes_it():
    sent = [
        Task(1, "func_code", True, src="def f(): pass", fn="f", payload=msgpack.packb([1])),
        Task(2, "code", False, src="x = 1"),
        Stop(),
        Task(3, "script", True, path="/x.py"),
        Task(4, "test", True),
    ]
    for tasks in (False, True):
        frame = encode_many(SIGNER, sent, tasks=tasks)
        items = msgpack.unpackb(frame[36 + int.from_bytes(frame[32:36], "big") :])
        assert [h["k"] for h, _ in items] == (["tasks", "stop", "tasks"] if tasks else ["task", "task", "stop", "task", "task"])
        assert decode(SIGNER, frame) == sent  # the same tasks either way, in order


def test_a_task_in_a_tasks_message_is_checked_as_a_task_message_is():
    frame = encode_many(SIGNER, [Task(1, "func_code", True, src="def f(): pass"), Task(2, "launch", True)], tasks=True)
    first, second = decode(SIGNER, frame)  # neither is run: each is answered with a failure naming why
    assert isinstance(first, BadTask) and "'fn'" in first.reason and isinstance(second, BadTask) and "launch" in second.reason


@pytest.mark.parametrize(
    "n, columns, reason",
    [
        (1, b"\xc1", "not valid msgpack"),
        (1, [[1], ["code"], [True], ["x"], [None], [None]], "7 lists"),
        (2, [[1], ["code"], [True], ["x"], [None], [None], [b""]], "n=2"),
        (1, [[True], ["code"], [True], ["x"], [None], [None], [b""]], "t an int"),
        (1, [[1], [5], [True], ["x"], [None], [None], [b""]], "op a str"),
        (1, [[1], ["code"], [1], ["x"], [None], [None], [b""]], "want a bool"),
        (1, [[1], ["code"], [True], [b"x"], [None], [None], [b""]], "src a str or nil"),
        (1, [[1], ["code"], [True], ["x"], [None], [None], [None]], "payload bytes"),
    ],
)
def test_malformed_tasks_are_rejected_with_what_is_wrong(n: int, columns: object, reason: str):
    assert_columns_rejected("tasks", n, columns, reason)


def test_a_hello_says_whether_its_worker_takes_tasks_messages():
    assert decode(SIGNER, encode(SIGNER, Hello(5, 1, tasks=True)))[0].tasks is True
    assert decode(SIGNER, encode(SIGNER, Hello(5, 1)))[0].tasks is False
    assert decode(SIGNER, encode_header(SIGNER, {"k": "hello", "pid": 5, "level": 1, "tasks": 1}))[0].tasks is False  # only true says so


@given(
    secret=st.binary(max_size=200),
    identity=st.binary(max_size=255),
    parts=st.lists(st.binary(max_size=3000), min_size=1, max_size=3),
)
def test_a_signature_is_hmac_sha256_of_the_identity_and_the_frame_for_any_key_length(secret: bytes, identity: bytes, parts: list):
    """Keys longer than SHA-256's block are hashed first, shorter ones padded (RFC 2104): as ``hmac`` does."""
    expected = hmac.new(secret, bytes((len(identity),)) + identity + b"".join(parts), hashlib.sha256).digest()
    signer = Signer(secret, identity)
    assert signer.sign_parts(tuple(parts)) == expected
    assert signer.sign(b"".join(parts)) == expected
    assert signer.sign(memoryview(b"".join(parts))) == expected  # twice from one signer: its keyed state is kept
    assert Signer(memoryview(secret), identity).sign(b"".join(parts)) == expected  # any bytes-like secret
