"""CPU accounting from /proc: a process group's CPU, counted across its members and between snapshots."""

import os
import signal
import subprocess
import sys
import time

from bench import cpu

BURN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\ntime.sleep(30)"


def test_a_process_groups_cpu_adds_up_its_members():
    # A parent and its child burn 0.3 s of CPU each, then idle; start_new_session gives them a group.
    script = f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {BURN.format(seconds=0.3)!r}])\n"
    parent = subprocess.Popen([sys.executable, "-c", script + BURN.format(seconds=0.3)], start_new_session=True)
    try:
        before = cpu.snapshot([parent.pid])
        burnt, deadline = -1.0, time.monotonic() + 30
        while time.monotonic() < deadline:  # until both have burnt their share and gone idle
            time.sleep(0.3)
            members = cpu.group_members(parent.pid)
            so_far = cpu.used(before, cpu.snapshot(members))
            if len(members) == 2 and so_far >= 0.58 and so_far == burnt:
                break
            burnt = so_far
        assert parent.pid in members and len(members) == 2
        assert 0.58 <= burnt < 1.5, burnt
    finally:
        os.killpg(parent.pid, signal.SIGKILL)  # the group this test started
        parent.wait()


def test_a_process_gone_counts_nothing():
    assert cpu.cpu_seconds(2**22 + 1) is None  # above the largest pid Linux hands out
    assert cpu.used({1: 5.0}, {}) == 0.0
    # Gone by the end (a recycled database connection): not minus everything it had used.
    assert cpu.used({1: 5.0, 2: 1.0}, {1: None, 2: 1.5}) == 0.5
