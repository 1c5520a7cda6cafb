"""The interop cases of docs/INTEROP.md section 5, from Python, against the
C++ interop_server, through typed stubs made by protoc-gen-sockrpc_python:
each case twice, once over a sockrpc.Channel, once over a stock gRPC
channel (python3-grpcio) through `sockrpc gateway`. The stubs take either:
sockrpc's Python API has grpcio's shape.
"""

import queue
import threading
import time

import pytest

import sockrpc
from sockrpc import StatusCode

from conftest import start_gateway

CALL_TIMEOUT = 10.0
ECHO_INITIAL = "x-sockrpc-test-echo-initial"
ECHO_TRAILING = "x-sockrpc-test-echo-trailing-bin"
SIZES = [27182, 8, 1828, 45904]
REPLY_SIZES = [31415, 9, 2653, 58979]


def pattern(size, seed):
    """docs/INTEROP.md section 3.1."""
    return bytes((i * 131 + (i >> 8) * 7 + seed * 61 + 17) & 0xFF
                 for i in range(size))


def fingerprint(data):
    """64-bit FNV-1a (section 3.2)."""
    value = 14695981039346656037
    for byte in data:
        value = ((value ^ byte) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return value


class Requests:
    """A request iterator fed one message at a time (bidi calls); an
    iterator, as grpcio wants, not just an iterable."""

    _END = object()

    def __init__(self):
        self._queue = queue.Queue()

    def send(self, request):
        self._queue.put(request)

    def close(self):
        self._queue.put(self._END)

    def __iter__(self):
        return self

    def __next__(self):
        item = self._queue.get()
        if item is self._END:
            raise StopIteration
        return item


class Flavor:
    """How one kind of client reports outcomes: its error class, its status
    code enum, and a code's number."""

    def __init__(self, name, error, codes, number):
        self.name, self.error, self.codes, self.number = (name, error, codes,
                                                          number)


DIRECT = Flavor("direct", sockrpc.RpcError, StatusCode, int)


@pytest.fixture(scope="module", params=["direct", "gateway"])
def flavor(request, interop_server, tmp_path_factory):
    if request.param == "direct":
        yield DIRECT, lambda: sockrpc.Channel(interop_server.address)
        return
    grpc = pytest.importorskip("grpc")
    gateway = start_gateway(interop_server.address)
    if gateway is None:
        pytest.skip("sockrpc-gateway not built (no gRPC)")
    try:
        yield (Flavor("gateway", grpc.RpcError, grpc.StatusCode,
                      lambda code: code.value[0]),
               lambda: grpc.insecure_channel(gateway.address))
    finally:
        gateway.stop()


@pytest.fixture
def codes(flavor):
    return flavor[0].codes


@pytest.fixture
def Error(flavor):
    return flavor[0].error


@pytest.fixture
def channel(flavor):
    with flavor[1]() as channel:
        yield channel


@pytest.fixture
def stub(channel, stubs):
    return stubs.interop_sockrpc.InteropTestStub(channel)


@pytest.fixture
def pb(stubs):
    return stubs.interop_pb2


def test_empty_unary(stub, pb, codes):
    reply = stub.EmptyCall(pb.Nothing(), timeout=CALL_TIMEOUT)
    assert reply.SerializeToString() == b""
    reply, call = stub.EmptyCall.with_call(pb.Nothing(), timeout=CALL_TIMEOUT)
    assert call.code() == codes.OK


def test_large_unary(stub, pb):
    request = pb.UnaryRequest(body=pattern(271828, 1), reply_size=314159)
    reply = stub.UnaryCall(request, timeout=CALL_TIMEOUT)
    assert reply.request_size == 271828
    assert reply.request_fingerprint == fingerprint(request.body)
    assert reply.body == pattern(314159, 0)
    # Two more in flight at once, from two threads.
    replies = [None, None]

    def call(i):
        replies[i] = stub.UnaryCall(request, timeout=CALL_TIMEOUT)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in reversed(threads):
        thread.join()
    for reply in replies:
        assert reply.request_fingerprint == fingerprint(request.body)
        assert reply.body == pattern(314159, 0)


def test_pipelined_unary(stub, pb, codes):
    # No deadline: only the cancel at the end ends it.
    sleeper = stub.SleepCall.future(pb.SleepRequest(sleep_ms=60000))
    futures = [stub.UnaryCall.future(
        pb.UnaryRequest(body=pattern(64 + i, i), reply_size=32 + i),
        timeout=CALL_TIMEOUT) for i in range(32)]
    for i, future in enumerate(futures):
        reply = future.result()
        assert reply.request_size == 64 + i
        assert reply.body == pattern(32 + i, 0)
    assert not sleeper.done()
    assert sleeper.cancel()
    assert sleeper.code() == codes.CANCELLED


def test_client_streaming(stub, pb):
    chunks = (pb.UploadChunk(body=pattern(size, i))
              for i, size in enumerate(SIZES))
    summary = stub.StreamingInputCall(chunks, timeout=CALL_TIMEOUT)
    assert summary.total_size == 74922
    assert summary.chunk_count == 4


def check_chunks(replies, sizes):
    replies = list(replies)
    assert [r.index for r in replies] == list(range(len(sizes)))
    for i, (reply, size) in enumerate(zip(replies, sizes)):
        assert reply.body == pattern(size, i)


def test_server_streaming(stub, pb, codes):
    call = stub.StreamingOutputCall(
        pb.DownloadRequest(reply_sizes=REPLY_SIZES), timeout=CALL_TIMEOUT)
    check_chunks(call, REPLY_SIZES)
    assert call.code() == codes.OK


def test_ping_pong(stub, pb, codes):
    requests = Requests()
    call = stub.FullDuplexCall(requests, timeout=CALL_TIMEOUT)
    for i, (size, reply_size) in enumerate(zip(SIZES, REPLY_SIZES)):
        requests.send(pb.DuplexRequest(body=pattern(size, i),
                                       reply_size=reply_size))
        reply = next(call)
        assert reply.index == i
        assert reply.body == pattern(reply_size, i)
    requests.close()
    assert list(call) == []
    assert call.code() == codes.OK


def test_half_duplex(stub, pb, codes):
    requests = [pb.DuplexRequest(body=pattern(size, i), reply_size=reply_size)
                for i, (size, reply_size) in enumerate(zip(SIZES, REPLY_SIZES))]
    call = stub.HalfDuplexCall(iter(requests), timeout=CALL_TIMEOUT)
    check_chunks(call, REPLY_SIZES)
    assert call.code() == codes.OK


def test_empty_stream(stub, codes):
    call = stub.FullDuplexCall(iter([]), timeout=CALL_TIMEOUT)
    assert list(call) == []
    assert call.code() == codes.OK


def test_timeout_on_sleeping_server(stub, pb, codes, Error):
    start = time.monotonic()
    with pytest.raises(Error) as error:
        stub.SleepCall(pb.SleepRequest(sleep_ms=30000), timeout=0.1)
    assert error.value.code() == codes.DEADLINE_EXCEEDED
    assert time.monotonic() - start < 2.1
    start = time.monotonic()
    call = stub.StreamingOutputCall(
        pb.DownloadRequest(reply_sizes=[100] * 20, pause_us=40000),
        timeout=0.1)
    received = 0
    with pytest.raises(Error) as error:
        for _ in call:
            received += 1
    assert error.value.code() == codes.DEADLINE_EXCEEDED
    assert received < 20
    assert time.monotonic() - start < 2.1
    stub.EmptyCall(pb.Nothing(), timeout=CALL_TIMEOUT)


def test_cancel_after_begin(stub, pb, codes):
    requests = Requests()
    call = stub.StreamingInputCall.future(requests, timeout=CALL_TIMEOUT)
    assert call.cancel()
    assert call.code() == codes.CANCELLED
    requests.close()
    stub.EmptyCall(pb.Nothing(), timeout=CALL_TIMEOUT)


def test_cancel_after_first_response(stub, pb, codes, Error):
    requests = Requests()
    call = stub.FullDuplexCall(requests, timeout=CALL_TIMEOUT)
    requests.send(pb.DuplexRequest(body=pattern(SIZES[0], 0),
                                   reply_size=REPLY_SIZES[0]))
    reply = next(call)
    assert reply.body == pattern(REPLY_SIZES[0], 0)
    call.cancel()
    requests.send(pb.DuplexRequest(body=pattern(SIZES[1], 1),
                                   reply_size=REPLY_SIZES[1]))
    requests.close()
    with pytest.raises(Error) as error:
        next(call)
    assert error.value.code() == codes.CANCELLED
    stub.EmptyCall(pb.Nothing(), timeout=CALL_TIMEOUT)


@pytest.mark.parametrize("code,message", [
    (2, "test status message"),
    (9, "the widget is not ready"),
    (2, "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP "
        "\U0001F608\t\n"),
])
def test_status_code_and_message(stub, pb, code, message, Error, flavor):
    echo = pb.StatusToEcho(code=code, message=message)
    with pytest.raises(Error) as error:
        stub.UnaryCall(pb.UnaryRequest(echo_status=echo),
                       timeout=CALL_TIMEOUT)
    assert flavor[0].number(error.value.code()) == code
    assert error.value.details() == message
    call = stub.FullDuplexCall(
        iter([pb.DuplexRequest(reply_size=10, echo_status=echo)]),
        timeout=CALL_TIMEOUT)
    with pytest.raises(Error) as error:
        list(call)
    assert flavor[0].number(error.value.code()) == code
    assert error.value.details() == message


def test_custom_metadata(stub, pb, codes):
    metadata = [(ECHO_INITIAL, "test_initial_metadata_value"),
                (ECHO_TRAILING, b"\x0a\x0b\x0a\x0b\x0a\x0b")]
    reply, call = stub.UnaryCall.with_call(
        pb.UnaryRequest(body=pattern(271, 4), reply_size=314),
        timeout=CALL_TIMEOUT, metadata=metadata)
    assert reply.body == pattern(314, 0)
    assert [v for k, v in call.initial_metadata() if k == ECHO_INITIAL] == [
        "test_initial_metadata_value"]
    assert [v for k, v in call.trailing_metadata() if k == ECHO_TRAILING] == [
        b"\x0a\x0b\x0a\x0b\x0a\x0b"]
    requests = Requests()
    call = stub.FullDuplexCall(requests, timeout=CALL_TIMEOUT,
                               metadata=metadata)
    requests.send(pb.DuplexRequest(body=pattern(271, 5), reply_size=314))
    reply = next(call)
    assert (reply.index, reply.body) == (0, pattern(314, 0))
    assert dict(call.initial_metadata())[ECHO_INITIAL] == (
        "test_initial_metadata_value")
    requests.close()
    assert list(call) == []
    assert call.code() == codes.OK
    assert dict(call.trailing_metadata())[ECHO_TRAILING] == (
        b"\x0a\x0b\x0a\x0b\x0a\x0b")


def test_unimplemented_method(stub, pb, codes, Error):
    with pytest.raises(Error) as error:
        stub.UnimplementedCall(pb.Nothing(), timeout=CALL_TIMEOUT)
    assert error.value.code() == codes.UNIMPLEMENTED


def test_unimplemented_service(channel, pb, codes, Error):
    call = channel.unary_unary("/sockrpc.interop.NoSuchService/EmptyCall",
                               request_serializer=pb.Nothing.SerializeToString,
                               response_deserializer=pb.Nothing.FromString)
    with pytest.raises(Error) as error:
        call(pb.Nothing(), timeout=CALL_TIMEOUT)
    assert error.value.code() == codes.UNIMPLEMENTED
    assert "sockrpc.interop.NoSuchService" in error.value.details()


def test_oversized_message(stub, pb, codes, Error):
    stub.EmptyCall(pb.Nothing(), timeout=CALL_TIMEOUT)
    with pytest.raises(Error) as error:
        stub.UnaryCall(pb.UnaryRequest(body=pattern(2 * 1024 * 1024, 2),
                                       reply_size=10), timeout=CALL_TIMEOUT)
    assert error.value.code() == codes.RESOURCE_EXHAUSTED
    assert "exceeds the limit" in error.value.details()
    request = pb.UnaryRequest(body=pattern(1000, 3), reply_size=2000)
    reply = stub.UnaryCall(request, timeout=CALL_TIMEOUT)
    assert reply.request_fingerprint == fingerprint(request.body)
    assert reply.body == pattern(2000, 0)


def test_concurrent_streams(stub, pb, codes):
    streams = 100
    first_replies = threading.Barrier(streams, timeout=CALL_TIMEOUT)
    failures = []

    def run(s):
        try:
            requests = Requests()
            call = stub.FullDuplexCall(requests, timeout=CALL_TIMEOUT)
            for k in range(4):
                requests.send(pb.DuplexRequest(body=pattern(10 * s + k, s),
                                               reply_size=1000 + 37 * s + k))
                reply = next(call)
                assert reply.index == k
                assert reply.body == pattern(1000 + 37 * s + k, k)
                if k == 0:
                    first_replies.wait()  # all 100 open at once
            requests.close()
            assert list(call) == []
            assert call.code() == codes.OK
        except BaseException as e:  # reported below, with the stream
            failures.append((s, repr(e)))
            first_replies.abort()

    threads = [threading.Thread(target=run, args=(s,)) for s in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
