"""The seed's examples run unchanged and print what the seed says they print."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed"


def run_example(name: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}  # no real message boxes in tests
    result = subprocess.run([sys.executable, name], cwd=SEED, env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


@pytest.mark.parametrize("name", ["01_keep_alive.py", "02_message_box.py", "03_message_box_all.py"])
def test_examples_without_redirected_output_print_only_finished(name: str):
    assert run_example(name) == "finished!\n"


def test_test_message_with_redirected_output():
    assert run_example("04_test_message.py") == "Test message.\nfinished!\n"


def test_parallel_prints_with_redirect_only_may_mix_but_nothing_is_lost():
    out = run_example("05_eval_all_redirect.py")
    assert out.endswith("finished!\n")
    assert out.count("remote script") == 5 and set(out.replace("remote script", "")) <= set("\nfinished!")


@pytest.mark.parametrize("name", ["06_eval_all_atomic.py", "07_execute_script.py"])
def test_atomic_output_gives_one_line_per_worker(name: str):
    assert run_example(name) == "remote script\n" * 5 + "finished!\n"


def test_function_output():
    assert run_example("08_function_print.py") == "9\nfinished!\n"


def test_function_result():
    assert run_example("09_function_result.py") == "result: 9\nfinished!\n"


def test_results_from_ten_workers():
    out = run_example("10_random_results.py").splitlines()
    assert out[-1] == "finished!" and len(out) == 11
    assert all(re.fullmatch(r"result: \d+", line) and 0 <= int(line.split()[1]) <= 1000 for line in out[:-1])


def test_custom_messages():
    assert run_example("11_custom_messages.py") == "remote message\nfinished!\n"


def test_five_levels_of_managers_print_once_at_the_root():
    assert run_example("12_multi_level.py") == "Hello, world!\n"


@pytest.mark.parametrize("name", ["13_single_process_wait.py", "14_wait_object.py"])
def test_wait_object_examples_run_silently_off_a_terminal(name: str):
    assert run_example(name) == ""
