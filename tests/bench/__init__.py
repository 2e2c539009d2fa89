"""Tests of the benchmark's own parts: equal output, CPU accounting, the delaying proxy."""
