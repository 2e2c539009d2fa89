"""The worker's event loop: when the bytes read so far make a request a thread can serve, or one to refuse.

And what it refuses to run on. tests/test_gunicorn_server.py boots it in real gunicorn.
"""

import json
import re
from pathlib import Path

import pytest
from gunicorn.config import Config

from taskapi import server
from taskapi.gunicorn_worker import (
    CHUNK_EXTENSIONS,
    SUPPORTED_GUNICORN,
    AppSettings,
    IncomingRequest,
    Limits,
    ThreadWorker,
    chunk_size,
    error_answer,
    parse_error_status,
    supported_gunicorn,
    unsupported_settings,
)

ROOT = Path(__file__).resolve().parents[1]

LIMITS = Limits(line=100, headers=200, chunk_line=20, body=50)
GET = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"


def post(body, *fields):
    head = b"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    return head + b"".join(field + b"\r\n" for field in fields) + b"\r\n" + body


def chunked(*chunks, trailers=b""):
    return post(b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n" + trailers + b"\r\n",
                b"Transfer-Encoding: chunked")


def fed(data, piece=None, limits=LIMITS):
    """An IncomingRequest given `data` at once, or `piece` bytes at a time, stopping where a loop would."""
    incoming = IncomingRequest(limits)
    piece = piece or len(data) or 1
    for at in range(0, len(data), piece):
        incoming.feed(data[at : at + piece])
        if incoming.ready or incoming.status:
            break
    return incoming


def outcome(incoming):
    return incoming.ready, incoming.partial, incoming.status


@pytest.mark.parametrize("piece", [None, 1, 2, 3, 7])
@pytest.mark.parametrize(
    "data",
    [
        GET,
        b"\r\n" + GET,  # one empty line may come first
        post(b'{"title": "x"}', b"Content-Length: 14"),
        post(b"", b"Content-Length: 0"),
        chunked(b'{"title": ', b'"x"}'),
        chunked(b'{"title": "x"}', trailers=b"X-Checksum: 1\r\n"),
        post(b"4;name=value\r\n{}  \r\n0\r\n\r\n", b"Transfer-Encoding: chunked"),
    ],
)
def test_a_whole_request_is_ready_at_its_last_byte_however_it_is_split(data, piece):
    assert outcome(fed(data[:-1], piece)) == (False, False, None)
    incoming = fed(data, piece)
    assert outcome(incoming) == (True, False, None)
    assert bytes(incoming.data) == data


def test_bytes_after_the_request_stay_with_it_for_the_parser():
    pipelined = post(b'{"title": "x"}', b"Content-Length: 14") + GET
    incoming = fed(pipelined)
    assert incoming.ready and bytes(incoming.data) == pipelined


@pytest.mark.parametrize("piece", [None, 1, 4096])
def test_a_request_line_over_the_limit_is_414_before_it_ends(piece):
    line = b"GET /health/live?q=" + b"a" * 200
    incoming = fed(line + b" HTTP/1.1\r\n\r\n", piece)
    assert outcome(incoming) == (False, False, 414)
    assert len(incoming.data) <= LIMITS.line + 2 + (piece or len(line))


def test_a_request_line_at_the_limit_is_served():
    target = b"/?q=" + b"a" * (LIMITS.line - len(b"GET  HTTP/1.1") - 4)
    line = b"GET " + target + b" HTTP/1.1"
    assert len(line) == LIMITS.line
    assert outcome(fed(line + b"\r\nHost: x\r\n\r\n", 1)) == (True, False, None)
    assert outcome(fed(b"GET " + target + b"a HTTP/1.1\r\nHost: x\r\n\r\n", 1)) == (False, False, 414)


@pytest.mark.parametrize("piece", [None, 1])
def test_header_fields_over_the_limit_are_431(piece):
    fields = b"".join(b"X-Field-%d: value\r\n" % n for n in range(20))
    assert len(fields) > LIMITS.headers
    incoming = fed(b"GET / HTTP/1.1\r\n" + fields + b"\r\n", piece)
    assert outcome(incoming) == (False, False, 431)


@pytest.mark.parametrize(
    "fields",
    [
        (b"Content-Length: 51",),  # over the body limit: the app answers 413 from the header
        (b"Content-Length: 10", b"Content-Length: 10"),
        (b"Content-Length: -1",),
        (b"Content-Length: 1e3",),
        (b"Content-Length: " + b"9" * 40,),
        (b"Transfer-Encoding: chunked", b"Content-Length: 10"),
        (b"Transfer-Encoding: gzip",),
        (b"Transfer-Encoding: chunked, gzip",),
        (b"Content-Length: 10", b"Expect: something-else"),
    ],
)
def test_a_head_gunicorn_or_the_app_refuses_is_served_at_once_then_closed(fields):
    incoming = fed(post(b"", *fields))
    assert outcome(incoming) == (True, True, None)


def test_chunked_over_http_1_0_is_served_at_once_then_closed():
    head = chunked(b"{}").replace(b"HTTP/1.1", b"HTTP/1.0")
    assert outcome(fed(head[: head.index(b"\r\n\r\n") + 4])) == (True, True, None)


@pytest.mark.parametrize("piece", [None, 1, 5])
def test_a_chunked_body_over_the_limit_is_served_once_one_byte_over_is_in(piece):
    body = b"x" * (LIMITS.body + 1)
    data = chunked(body[:30], body[30:])
    incoming = fed(data, piece)
    assert outcome(incoming) == (True, True, None)
    head = data.index(b"\r\n\r\n") + 4
    assert data.index(body[LIMITS.body :], head) < len(incoming.data)  # the byte over the limit is in
    # A body at the limit is whole and served as usual.
    assert outcome(fed(chunked(body[:30], body[30 : LIMITS.body]), piece)) == (True, False, None)


def test_one_chunk_announced_over_the_limit_waits_for_the_byte_over_it():
    head = post(b"", b"Transfer-Encoding: chunked") + b"%x\r\n" % 1000
    assert outcome(fed(head + b"x" * LIMITS.body)) == (False, False, None)
    assert outcome(fed(head + b"x" * (LIMITS.body + 1))) == (True, True, None)


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # not hexadecimal
        b"\r\n{}\r\n0\r\n\r\n",  # no size
        b"2\r\n{}XX0\r\n\r\n",  # no CRLF after the chunk's data
        b"2;=\r\n{}\r\n0\r\n\r\n",  # a malformed extension
        b"2" + b"0" * 30,  # a size line over the limit
    ],
)
def test_chunked_framing_gunicorn_would_refuse_mid_body_is_400(body):
    assert outcome(fed(post(body, b"Transfer-Encoding: chunked"))) == (False, False, 400)


def test_a_trailer_section_over_the_limit_is_431():
    trailers = b"".join(b"X-Trailer-%d: value\r\n" % n for n in range(20))
    assert outcome(fed(chunked(b"{}", trailers=trailers), 1)) == (False, False, 431)


def test_expect_100_continue_asks_for_the_body_when_it_has_not_come():
    incoming = fed(post(b"", b"Content-Length: 2", b"Expect: 100-continue"))
    assert incoming.wants_continue and outcome(incoming) == (False, False, None)
    assert not fed(post(b"", b"Content-Length: 2")).wants_continue
    http10 = post(b"", b"Content-Length: 2", b"Expect: 100-continue").replace(b"HTTP/1.1", b"HTTP/1.0")
    assert not fed(http10).wants_continue  # RFC 9110 10.1.1: ignored from HTTP/1.0 clients


@pytest.mark.parametrize(
    "line, size",
    [(b"0", 0), (b"1a", 26), (b"FF", 255), (b"10 ;ext", 16), (b'4;a="b c"', 4), (b"", None), (b"-1", None),
     (b"0x10", None), (b"1 2", None), (b"4;a b", None)],
)
def test_chunk_size_lines_as_gunicorn_reads_them(line, size):
    assert chunk_size(line) == size


def test_header_fields_from_the_head_for_answers_made_before_the_app():
    assert fed(post(b"", b"X-Request-ID: client.id-1", b"Content-Length: 9")).field("X-Request-ID") == "client.id-1"
    assert fed(post(b"", b"x-request-id:  spaced \t", b"Content-Length: 9")).field("X-Request-ID") == "spaced"
    assert fed(post(b"", b"Content-Length: 9")).field("X-Request-ID") == ""
    assert fed(b"GET / HTTP/1.1\r\nX-Request-ID: abc").field("X-Request-ID") == ""  # head not whole: not read


def app_settings(make_app, hsts):
    return AppSettings(**server.worker_settings(make_app(HSTS=hsts)))


def test_the_request_id_rule_is_the_apps(make_app):
    settings = app_settings(make_app, False)
    assert settings.request_id_header == "X-Request-ID"
    assert settings.request_id("client.id-1") == "client.id-1"
    made = settings.request_id("has space")
    assert made != "has space" and len(made) == 16
    assert len(settings.request_id("")) == 16


@pytest.mark.parametrize("hsts", [False, True])
def test_error_answers_carry_the_envelope_and_the_security_headers(make_app, hsts):
    answer = error_answer(app_settings(make_app, hsts), 408, "rid-1")
    head, body = answer.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    assert status_line == "HTTP/1.1 408 Request Timeout"
    assert json.loads(body) == {"status": 408, "code": "request_timeout", "request_id": "rid-1",
                                "message": "The request was not received in time."}
    assert headers["Content-Length"] == str(len(body)) and headers["Content-Type"] == "application/json"
    assert headers["Connection"] == "close" and headers["X-Request-ID"] == "rid-1"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
    assert ("Strict-Transport-Security" in headers) is hsts


def test_the_worker_imports_nothing_of_the_app():
    source = (ROOT / "taskapi" / "gunicorn_worker.py").read_text()
    assert not re.search(r"^\s*(from|import) taskapi\b", source, re.MULTILINE)


def test_chunk_extensions_are_read_as_gunicorns_parser_reads_them():
    from gunicorn.http.body import CHUNK_EXT_RE

    assert CHUNK_EXTENSIONS.pattern == CHUNK_EXT_RE.pattern


def test_the_installed_gunicorn_is_one_the_worker_runs_on():
    import gunicorn

    assert supported_gunicorn(), (gunicorn.__version__, SUPPORTED_GUNICORN)


def test_requirements_pin_the_range_the_worker_runs_on():
    low, high = (".".join(map(str, version)) for version in SUPPORTED_GUNICORN)
    pins = [line for line in (ROOT / "requirements.in").read_text().splitlines() if line.startswith("gunicorn")]
    assert pins == [f"gunicorn>={low},<{high}"]
    locked = re.search(r"^gunicorn==(\S+) ", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert supported_gunicorn(tuple(int(part) for part in locked.group(1).split(".")))


@pytest.mark.parametrize(
    "version, supported",
    [((27, 0, 1), True), ((27, 0, 9), True), ((27, 0, 0), False), ((26, 2, 0), False), ((27, 1, 0), False),
     ((28, 0, 0), False)],
)
def test_supported_gunicorn_versions(version, supported):
    assert supported_gunicorn(version) is supported


def config(**settings):
    cfg = Config()
    for name, value in settings.items():
        cfg.set(name, value)
    return cfg


def test_the_procfiles_settings_are_supported():
    assert unsupported_settings(config()) == []


class Log:
    def warning(self, *args):
        pass

    def critical(self, message):
        self.message = message


@pytest.mark.parametrize(
    "settings, problem",
    [
        ({"certfile": "cert.pem", "keyfile": "key.pem"}, "certfile/keyfile"),
        ({"keyfile": "key.pem"}, "certfile/keyfile"),
        ({"http_protocols": "h2,h1"}, "http_protocols=h2,h1"),
        ({"http2_cleartext": "prior-knowledge"}, "http2_cleartext=prior-knowledge"),
        ({"protocol": "uwsgi"}, "protocol=uwsgi"),
        ({"proxy_protocol": "v1"}, "proxy_protocol=v1"),
    ],
)
def test_settings_gthread_would_act_on_in_the_event_loop_are_refused_at_start(settings, problem):
    problems = unsupported_settings(config(**settings))
    assert len(problems) == 1 and problems[0].startswith(problem)
    log = Log()
    with pytest.raises(SystemExit) as exit_:
        ThreadWorker.check_config(config(**settings), log)
    assert exit_.value.code == 1 and problem in log.message


def test_an_unsupported_gunicorn_is_refused_at_start(monkeypatch):
    import gunicorn

    monkeypatch.setattr(gunicorn, "version_info", (26, 2, 0))
    monkeypatch.setattr(gunicorn, "__version__", "26.2.0")
    assert unsupported_settings(config()) == ["gunicorn 26.2.0 is installed; this worker runs on >=27.0.1,<27.1"]
    with pytest.raises(SystemExit):
        ThreadWorker.check_config(config(), Log())


def test_gunicorns_parsing_errors_keep_their_statuses():
    from gunicorn.http import errors

    assert parse_error_status(errors.LimitRequestLine(9000, 8190)) == 414
    assert parse_error_status(errors.LimitRequestHeaders("too many")) == 431
    assert parse_error_status(errors.InvalidHeaderName("Bad Name")) == 400
    assert parse_error_status(errors.ExpectationFailed("x")) == 417
    assert parse_error_status(errors.UnsupportedTransferCoding("br")) == 501
    assert parse_error_status(errors.InvalidResponseHeader("X")) == 500
    assert parse_error_status(RuntimeError("app")) == 500
