"""The soak's memory gate (tests/e2e/soak.py): floors of RSS, and their slope."""

import os

from tests.e2e import soak


def test_the_slope_is_mib_per_minute_of_the_samples_after_the_start():
    flat_then_rising = [(t, 80 * 1024) for t in range(0, 90, 10)] + [(t, 80 * 1024 + (t - 90) * 1024 // 15)
                                                                    for t in range(90, 181, 10)]
    assert abs(soak.slope_mib_per_minute(flat_then_rising, after=90) - 4.0) < 0.1
    assert soak.slope_mib_per_minute(flat_then_rising[:9], after=0) == 0
    assert soak.slope_mib_per_minute(flat_then_rising, after=175) is None  # fewer than three samples


def test_a_sample_is_the_least_of_its_reads(monkeypatch):
    reads = iter([100 * 1024, 81 * 1024, 119 * 1024])  # one read lands in a login's 19 MiB hash
    monkeypatch.setattr(soak, "rss_kib", lambda pid: next(reads))
    monkeypatch.setattr(soak.time, "sleep", lambda seconds: None)
    server = type("Server", (), {"worker_pids": lambda self: [os.getpid()]})()
    sampler = soak.RssSampler([server], reads=3)
    sampler.sample()
    assert [kib for _, kib in sampler.series[os.getpid()]] == [81 * 1024]
    assert sampler.peaks[os.getpid()] == 119 * 1024
