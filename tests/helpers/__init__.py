"""Helpers of the test suite, by area; the conftest files hold only fixtures."""
