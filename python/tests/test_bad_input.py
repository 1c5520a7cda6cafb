"""Bad input: a server that dies mid-stream, peers that send garbage or
nothing, replies over the limit or unparseable, bad metadata. Each ends
the call with a clear status, in bounded time, and leaves no thread.
"""

import socket
import threading
import time

import pytest

import sockrpc
from sockrpc import StatusCode, _frames, wire_pb2

from conftest import TEST_BIN_DIR, start_server

BOUND = 10.0


class FakeServer:
    """A unix socket whose one connection `handler(conn)` serves."""

    def __init__(self, path, handler):
        self.address = "unix:%s" % path
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        self._listener.listen(1)
        self._listener.settimeout(BOUND)
        self._thread = threading.Thread(target=self._serve, args=(handler,))
        self._thread.start()

    def _serve(self, handler):
        try:
            conn, _ = self._listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(BOUND)
            handler(conn)

    def close(self):
        self._thread.join(BOUND)
        self._listener.close()


def read_call(conn):
    """Reads the client's preface and first call's frames; its stream id."""
    data = b""
    while len(data) < len(_frames.PREFACE) + _frames.HEADER_SIZE:
        data += conn.recv(65536)
    return int.from_bytes(data[12:16], "big")


def until_the_client_closes(conn):
    """A peer that takes the call and never answers."""
    read_call(conn)
    while conn.recv(65536):
        pass


def serve(handler, tmp_path, request_timeout=BOUND, **options):
    """The status of an Increment-shaped unary call to a FakeServer."""
    server = FakeServer(tmp_path / "fake.sock", handler)
    try:
        with sockrpc.Channel(server.address, **options) as channel:
            call = channel.unary_unary("/increment.Increment/Increment")
            with pytest.raises(sockrpc.RpcError) as error:
                call(b"\n\x01A", timeout=request_timeout)
            return error.value
    finally:
        server.close()


def reader_threads():
    return [t for t in threading.enumerate()
            if t.name.startswith("sockrpc-reader")]


@pytest.fixture(autouse=True)
def no_thread_left():
    yield
    for thread in reader_threads():
        thread.join(BOUND)
    assert reader_threads() == []


def test_server_dies_mid_stream(tmp_path, stubs):
    server = start_server(tmp_path, TEST_BIN_DIR / "interop_server")
    pb = stubs.interop_pb2
    try:
        with sockrpc.Channel(server.address) as channel:
            stub = stubs.interop_sockrpc.InteropTestStub(channel)
            call = stub.StreamingOutputCall(
                pb.DownloadRequest(reply_sizes=[10] * 100, pause_us=20000),
                timeout=BOUND)
            assert next(call).index == 0
            server.kill()
            with pytest.raises(sockrpc.RpcError) as error:
                for _ in call:
                    pass
            assert error.value.code() == StatusCode.UNAVAILABLE
            with pytest.raises(sockrpc.RpcError) as error:
                stub.EmptyCall(pb.Nothing(), timeout=BOUND)
            assert error.value.code() == StatusCode.UNAVAILABLE
            assert "failed to connect" in error.value.details()
    finally:
        server.stop()


def test_garbage_instead_of_a_preface(tmp_path):
    def handler(conn):
        read_call(conn)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    error = serve(handler, tmp_path)
    assert error.code() == StatusCode.UNAVAILABLE
    assert "bad server preface" in error.details()


def test_a_malformed_frame_fails_the_connection(tmp_path):
    def handler(conn):
        read_call(conn)
        conn.sendall(_frames.PREFACE + b"\0\0\0\0\0\0\0\1\0\0\0\0")  # type 0

    error = serve(handler, tmp_path)
    assert error.code() == StatusCode.INTERNAL
    assert "protocol error" in error.details()
    assert "frame type 0" in error.details()


def test_a_reply_that_does_not_parse(tmp_path, stubs):
    def handler(conn):
        stream = read_call(conn)
        conn.sendall(_frames.PREFACE
                     + _frames.encode(_frames.MESSAGE, stream, b"\xff\xff")
                     + _frames.encode(_frames.STATUS, stream))

    server = FakeServer(tmp_path / "fake.sock", handler)
    try:
        with sockrpc.Channel(server.address) as channel:
            stub = stubs.increment_sockrpc.IncrementStub(channel)
            with pytest.raises(sockrpc.RpcError) as error:
                stub.Increment(stubs.increment_pb2.IncrementRequest(
                    character="A"), timeout=BOUND)
            assert error.value.code() == StatusCode.INTERNAL
            assert "failed to parse the reply" in error.value.details()
    finally:
        server.close()


def test_a_reply_over_the_frame_limit(tmp_path):
    def handler(conn):
        stream = read_call(conn)
        conn.sendall(_frames.PREFACE
                     + _frames.encode(_frames.MESSAGE, stream, b"x" * 2000)
                     + _frames.encode(_frames.STATUS, stream))
        conn.recv(65536)  # the CANCEL; then the client closes

    error = serve(handler, tmp_path, max_frame_size=1024)
    assert error.code() == StatusCode.RESOURCE_EXHAUSTED
    assert "exceeds the limit of 1024 bytes" in error.details()


def test_a_server_that_never_answers_meets_the_deadline(tmp_path):
    start = time.monotonic()
    error = serve(until_the_client_closes, tmp_path, request_timeout=0.2)
    assert error.code() == StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - start < BOUND


def test_a_server_that_sends_no_preface_fails_the_connection(tmp_path):
    error = serve(until_the_client_closes, tmp_path, request_timeout=None,
                  connect_timeout=0.3)
    assert error.code() == StatusCode.UNAVAILABLE
    assert "sent no preface within 0.3s" in error.details()


def test_goaway_fails_the_calls_the_server_did_not_take(tmp_path):
    def handler(conn):
        read_call(conn)
        goaway = wire_pb2.GoAway(code=14, message="server is shutting down",
                                 last_stream_id=0)
        conn.sendall(_frames.PREFACE + _frames.encode(
            _frames.GOAWAY, 0, goaway.SerializeToString()))

    error = serve(handler, tmp_path)
    assert error.code() == StatusCode.UNAVAILABLE
    assert "server is shutting down" in error.details()


@pytest.mark.parametrize("metadata,code", [
    ([("Upper", "x")], StatusCode.INVALID_ARGUMENT),
    ([("key", "new\nline")], StatusCode.INVALID_ARGUMENT),
    ([("key", "x" * 20000)], StatusCode.RESOURCE_EXHAUSTED),
])
def test_bad_metadata_is_refused_before_sending(increment_server, stubs,
                                                metadata, code):
    with sockrpc.Channel(increment_server.address) as channel:
        stub = stubs.increment_sockrpc.IncrementStub(channel)
        request = stubs.increment_pb2.IncrementRequest(character="A")
        with pytest.raises(sockrpc.RpcError) as error:
            stub.Increment(request, timeout=BOUND, metadata=metadata)
        assert error.value.code() == code
        # The channel is fine.
        assert stub.Increment(request, timeout=BOUND).character == "B"


def test_bad_addresses():
    for target in ["unix:", "ipv4:1.2.3:80", "ipv6:::1:80", "nohost",
                   "host:99999", "systemd:"]:
        with pytest.raises(ValueError):
            sockrpc.Channel(target)


def test_nothing_listening(tmp_path):
    with sockrpc.Channel("unix:%s" % (tmp_path / "none.sock")) as channel:
        with pytest.raises(sockrpc.RpcError) as error:
            channel.unary_unary("/a.B/C")(b"", timeout=BOUND)
        assert error.value.code() == StatusCode.UNAVAILABLE
        assert "failed to connect" in error.value.details()
