"""CPU time from /proc: what a set of processes used between two snapshots, in seconds."""

import os
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces), or None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2:].split()


def cpu_seconds(pid):
    """utime + stime of one process so far (None when it is gone)."""
    fields = _stat(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND  # stat fields 14 and 15


def group_members(group_id):
    """Every live process whose process group is `group_id`."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(entry.name)
            if fields is not None and int(fields[2]) == group_id:  # stat field 5, pgrp
                members.append(int(entry.name))
    return members


def snapshot(pids):
    """pid → CPU seconds so far, for each of `pids`."""
    return {pid: cpu_seconds(pid) for pid in pids}


def used(before, after):
    """CPU seconds between two snapshots: processes seen only at the end count from their start.

    A process gone by the end counts nothing: what it used since the first snapshot is lost with it (a
    database connection the pool recycled mid-run, say), which is far less than subtracting all it had used.
    """
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items()
               if seconds is not None and before.get(pid, 0.0) is not None)
