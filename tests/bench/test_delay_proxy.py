"""The delaying proxy: bytes arrive intact and in order, each way later by the delay."""

import socket
import threading
import time

from bench.delay_proxy import DelayProxy

ONE_WAY = 0.005


def echo_server():
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _ = listener.accept()
        with connection:
            while data := connection.recv(65536):
                connection.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_round_trips_are_delayed_both_ways_and_bytes_kept():
    listener = echo_server()
    proxy = DelayProxy(0, listener.getsockname()[1], ONE_WAY)
    stop = threading.Event()
    thread = threading.Thread(target=proxy.serve_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", proxy.port)) as sock:
            times = []
            for number in range(5):
                message = f"message {number} ".encode() * 1000
                started = time.perf_counter()
                sock.sendall(message)
                received = b""
                while len(received) < len(message):
                    received += sock.recv(65536)
                times.append(time.perf_counter() - started)
                assert received == message
        assert min(times) >= 2 * ONE_WAY
        assert sorted(times)[2] < 2 * ONE_WAY + 0.05
    finally:
        stop.set()
        thread.join(5)
        proxy.close()
        listener.close()
