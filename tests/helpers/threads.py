"""Races: requests sent from threads, each with its own test client, released together."""

import threading


def race(app, *senders, timeout=60):
    """Run each sender(client) in its own thread with its own test client of `app`, released together; returns
    what each returned, in order. A sender's exception fails the caller's test."""
    barrier = threading.Barrier(len(senders))
    results, errors = [None] * len(senders), []

    def run(index, send):
        client = app.test_client()
        try:
            barrier.wait(timeout=10)
            results[index] = send(client)
        except Exception as exc:  # surfaced in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, send)) for i, send in enumerate(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    assert not errors, errors
    return results
