"""Output redirection, atomic output, and output ahead of the result it precedes."""

from __future__ import annotations

import time

import pytest

from promp import ProManager, ProMPOpt_AtomicOutput, ProMPOpt_RedirectOutput, ProWorker_All
from promp._stdio import STDOUT
from promp.manager._output import HELD_AT_MOST, UNFINISHED_LINE_HELD_AT_MOST, UNFINISHED_LINE_WAIT, OutputAssembler, atomic

from .conftest import pump_until


def run(m: ProManager, target: int, code: str) -> None:
    m.evalPythonCode(target, code)
    pump_until(m, lambda: not m.isBusy())


def test_without_redirect_worker_output_is_not_shown(manager: ProManager, capfd):
    wid = manager.startWorker()
    run(manager, wid, "import os, sys\nprint('hidden')\nprint('hidden err', file=sys.stderr)\nos.system('echo hidden too')")
    manager.processMessages()
    captured = capfd.readouterr()
    assert "hidden" not in captured.out and "hidden" not in captured.err


def test_redirect_forwards_stdout_stderr_c_level_and_child_processes(manager: ProManager, capfd):
    manager.setOptions(ProMPOpt_RedirectOutput)
    assert manager.options() == ProMPOpt_RedirectOutput
    wid = manager.startWorker()
    run(
        manager,
        wid,
        "import os, sys, ctypes\n"
        "print('py out')\n"
        "print('py err', file=sys.stderr)\n"
        "os.system('echo from child')\n"
        "ctypes.CDLL(None).write(1, b'from C\\n', 7)\n",
    )
    captured = capfd.readouterr()
    for line in ("py out", "from child", "from C"):
        assert line + "\n" in captured.out
    assert "py err\n" in captured.err


def test_output_printed_before_a_function_returns_is_written_before_its_result_is_visible(manager: ProManager, capfd):
    manager.setOptions(ProMPOpt_RedirectOutput)
    wid = manager.startWorker()
    code = "import os\ndef f(i):\n    print('line', i)\n    os.system('echo child %d' % i)\n    return i\n"
    for i in range(20):
        manager.evalPythonFunction(wid, code, "f", [i], True)
        pump_until(manager, lambda: manager.hasResults(wid))
        out = capfd.readouterr().out
        assert f"line {i}\n" in out and f"child {i}\n" in out, f"output of call {i} missing when its result arrived"
        assert manager.takeResult(wid) == i


@pytest.mark.parametrize(
    "chunk, shown",
    [("remote script", "remote script\n"), ("\n", ""), ("\r\n", ""), ("a\nb\n", "a\nb\n"), ("", ""), ("x\n", "x\n")],
)
def test_atomic_output_drops_lone_newlines_and_ends_every_write_with_one(chunk: str, shown: str):
    assert atomic(chunk) == shown


def test_atomic_output_keeps_parallel_prints_whole_and_implies_redirect(manager: ProManager, capfd):
    manager.setOptions(ProMPOpt_AtomicOutput)
    for _ in range(4):
        manager.startWorker()
    run(manager, ProWorker_All, "import sys\nfor i in range(50):\n    print('remote script')\nsys.stdout.write('no newline')\nprint()")
    out = capfd.readouterr().out
    assert out.count("remote script\n") == 200
    assert out.count("no newline\n") == 4
    assert set(out.splitlines()) == {"remote script", "no newline"}


def test_atomic_output_keeps_a_print_longer_than_the_pipe_whole(manager: ProManager, capfd):
    """One print of 300,000 characters is one line, though the pipe holds 64 KiB and is read in pieces."""
    manager.setOptions(ProMPOpt_AtomicOutput)
    for _ in range(2):
        manager.startWorker()
    run(manager, ProWorker_All, "import os\nprint(str(os.getpid() % 10) * 300_000)\nprint('short')")
    lines = capfd.readouterr().out.splitlines()
    assert sorted(len(line) for line in lines) == [5, 5, 300_000, 300_000]
    assert all(len(set(line)) == 1 for line in lines if line != "short")  # not two workers' digits mixed


def test_atomic_output_keeps_lines_whole_when_the_pipe_fills_faster_than_it_is_read(manager: ProManager, capfd):
    """Many lines written at once fill the pipe; where a read of it ends is no line's end."""
    manager.setOptions(ProMPOpt_AtomicOutput)
    wid = manager.startWorker()
    expected = [f"{i:05d} " + "y" * (i % 97) for i in range(20_000)]
    run(manager, wid, "import sys\nsys.stdout.write(''.join('%05d ' % i + 'y' * (i % 97) + '\\n' for i in range(20_000)))")
    assert capfd.readouterr().out.splitlines() == expected


def test_text_without_a_newline_is_shown_soon_while_its_task_goes_on(manager: ProManager, capfd):
    """A prompt waits for the rest of its line only briefly: a user in wait() sees it long before the task ends."""
    manager.setOptions(ProMPOpt_RedirectOutput)
    wid = manager.startWorker()
    manager.evalPythonCode(wid, "import sys, time\nsys.stdout.write('prompt: ')\nsys.stdout.flush()\ntime.sleep(30)")
    shown = ""
    deadline = time.monotonic() + 5
    while "prompt: " not in shown and time.monotonic() < deadline:
        manager.wait(1000)
        shown += capfd.readouterr().out
    assert shown == "prompt: " and manager.isBusy()


def test_bad_utf8_is_replaced_not_fatal(manager: ProManager, capfd):
    manager.setOptions(ProMPOpt_RedirectOutput)
    run(manager, manager.startWorker(), "import os\nos.write(1, b'\\xff\\xfe ok\\n')")
    assert "\ufffd\ufffd ok\n" in capfd.readouterr().out


def test_test_message_prints_the_seed_line(manager: ProManager, capfd):
    manager.setOptions(ProMPOpt_RedirectOutput)
    manager.testMessage(manager.startWorker())
    pump_until(manager, lambda: not manager.isBusy())
    assert capfd.readouterr().out == "Test message.\n"


def test_test_message_box_without_a_display_prints_and_closes(manager: ProManager, capfd, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    manager.setOptions(ProMPOpt_AtomicOutput)
    manager.testMessageBox(manager.startWorker())
    pump_until(manager, lambda: not manager.isBusy())
    assert capfd.readouterr().out == "Test message box.\n"


def test_unknown_option_bits_are_rejected(manager: ProManager):
    with pytest.raises(ValueError, match="unknown option"):
        manager.setOptions(0x100)


@pytest.mark.parametrize("options", ["1", 1.0, None, True])
def test_options_that_are_not_an_int_are_a_type_error_naming_the_type(manager: ProManager, options):
    with pytest.raises(TypeError, match=type(options).__name__):
        manager.setOptions(options)
    assert manager.options() == 0


def _lines_out(assembler: OutputAssembler) -> list[bytes]:
    return [data for _wid, _stream, data in assembler.take()]


def test_a_line_coming_in_pieces_waits_for_its_end_as_long_as_pieces_keep_coming():
    """The wait is counted from the last piece: a line trickling in 2 ms apart is one line, not one every 20 ms."""
    out = OutputAssembler()
    for i in range(60):
        out.feed(1, STDOUT, b"x", now=i * 0.002)
        out.release_due(i * 0.002)
    assert _lines_out(out) == []
    out.feed(1, STDOUT, b"\n", now=0.12)
    assert _lines_out(out) == [b"x" * 60 + b"\n"]


def test_text_without_a_newline_goes_out_once_nothing_new_came_for_the_wait():
    out = OutputAssembler()
    out.feed(1, STDOUT, b"prompt> ", now=10.0)
    out.release_due(10.0 + UNFINISHED_LINE_WAIT / 2)
    assert _lines_out(out) == []
    assert out.next_due() == 10.0 + UNFINISHED_LINE_WAIT
    out.release_due(10.0 + UNFINISHED_LINE_WAIT)
    assert _lines_out(out) == [b"prompt> "]


def test_a_line_that_never_ends_is_held_at_most_a_second_from_its_first_piece():
    out = OutputAssembler()
    now = 0.0
    while now < UNFINISHED_LINE_HELD_AT_MOST - 0.005:
        out.feed(1, STDOUT, b"x", now=now)
        now += 0.005
        out.release_due(now)
        assert _lines_out(out) == []
    out.feed(1, STDOUT, b"x", now=now)
    assert out.next_due() == UNFINISHED_LINE_HELD_AT_MOST
    out.release_due(UNFINISHED_LINE_HELD_AT_MOST)
    (line,) = _lines_out(out)
    assert line == b"x" * len(line) and len(line) > 150
    out.feed(1, STDOUT, b"y", now=1.001)  # what comes next starts a line of its own, with its own clock
    assert out.next_due() == 1.001 + UNFINISHED_LINE_WAIT


def test_a_line_whose_pipe_waits_for_the_user_is_not_cut_meanwhile():
    """Past the bound the manager stops reading a worker's pipe: the rest of a line waits there, not in the writer,
    so the unfinished line must not go out 20 ms later as if the writer had paused (it did not)."""
    out = OutputAssembler()
    assert out.feed(1, STDOUT, b"x" * (HELD_AT_MOST - 10) + b"\n", now=0.0) is True
    assert out.feed(1, STDOUT, b"y" * 20 + b"\nthe start of a line", now=0.001) is False  # past the bound
    out.release_due(5.0)  # the user took nothing for five seconds
    assert [data for _w, _s, data in out.take()] == [b"x" * (HELD_AT_MOST - 10) + b"\n", b"y" * 20 + b"\n"]
    assert out.next_due() is None
    assert out.resume(1, STDOUT, now=5.0)  # the user took the output: reading resumes, the line waits from now
    assert out.next_due() == 5.0 + UNFINISHED_LINE_WAIT
    out.feed(1, STDOUT, b", and its end\n", now=5.001)
    assert _lines_out(out) == [b"the start of a line, and its end\n"]
