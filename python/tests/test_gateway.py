"""`sockrpc gateway` beyond the interop cases (test_interop.py runs those
through it too): a stock gRPC client (python3-grpcio) and the C++
interop_server, every status code, metadata, deadlines and cancellation
reaching the upstream, a client that stops reading, bad requests, and gRPC
reflection."""

import json
import subprocess
import time

import grpc
import pytest

from conftest import BIN_DIR, REPO, TEST_BIN_DIR, start_gateway, \
    start_server

TIMEOUT = 10.0
METHOD = "/sockrpc.interop.InteropTest/"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("upstream"),
                          TEST_BIN_DIR / "interop_server", "--stats")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(upstream):
    server = start_gateway(upstream.address)
    assert server is not None, "sockrpc-gateway was not built"
    yield server
    server.stop()


@pytest.fixture
def channel(gateway):
    with grpc.insecure_channel(gateway.address) as channel:
        yield channel


@pytest.fixture(scope="module")
def reflection_pb2(tmp_path_factory):
    out = tmp_path_factory.mktemp("reflection")
    subprocess.run(["protoc", "-I", str(REPO / "tools" / "gateway"),
                    "--python_out=%s" % out, "grpc_reflection.proto"],
                   check=True)
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "grpc_reflection_pb2", out / "grpc_reflection_pb2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def method(channel, name, kind, request_type, reply_type):
    return getattr(channel, kind)(
        METHOD + name, request_serializer=request_type.SerializeToString,
        response_deserializer=reply_type.FromString)


def test_every_call_kind(channel, stubs):
    pb = stubs.interop_pb2
    unary = method(channel, "UnaryCall", "unary_unary", pb.UnaryRequest,
                   pb.UnaryReply)
    reply = unary(pb.UnaryRequest(body=b"x" * 271828, reply_size=314159),
                  timeout=TIMEOUT)
    assert (reply.request_size, len(reply.body)) == (271828, 314159)
    download = method(channel, "StreamingOutputCall", "unary_stream",
                      pb.DownloadRequest, pb.StreamChunk)
    sizes = [31415, 9, 2653, 58979]
    assert [len(c.body) for c in download(
        pb.DownloadRequest(reply_sizes=sizes), timeout=TIMEOUT)] == sizes
    upload = method(channel, "StreamingInputCall", "stream_unary",
                    pb.UploadChunk, pb.UploadSummary)
    summary = upload(iter([pb.UploadChunk(body=b"y" * 100000)] * 8),
                     timeout=TIMEOUT)
    assert (summary.total_size, summary.chunk_count) == (800000, 8)
    duplex = method(channel, "FullDuplexCall", "stream_stream",
                    pb.DuplexRequest, pb.StreamChunk)
    replies = duplex(iter([pb.DuplexRequest(reply_size=n) for n in (1, 2, 3)]),
                     timeout=TIMEOUT)
    assert [(c.index, len(c.body)) for c in replies] == [(0, 1), (1, 2),
                                                         (2, 3)]
    empty = duplex(iter([]), timeout=TIMEOUT)
    assert list(empty) == []


def test_status_codes_and_messages_map_one_to_one(channel, stubs):
    pb = stubs.interop_pb2
    unary = method(channel, "UnaryCall", "unary_unary", pb.UnaryRequest,
                   pb.UnaryReply)
    message = "\t\ntest with whitespace\r\nand Unicode BMP \u263a\t\n"
    for code in range(1, 17):
        with pytest.raises(grpc.RpcError) as error:
            unary(pb.UnaryRequest(echo_status=pb.StatusToEcho(
                code=code, message=message)), timeout=TIMEOUT)
        assert error.value.code().value[0] == code
        assert error.value.details() == message
    with pytest.raises(grpc.RpcError) as error:
        channel.unary_unary("/sockrpc.interop.NoSuchService/EmptyCall")(
            b"", timeout=TIMEOUT)
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "sockrpc.interop.NoSuchService" in error.value.details()


def test_metadata_both_ways(channel, stubs):
    pb = stubs.interop_pb2
    unary = method(channel, "UnaryCall", "unary_unary", pb.UnaryRequest,
                   pb.UnaryReply)
    _, call = unary.with_call(
        pb.UnaryRequest(reply_size=1), timeout=TIMEOUT,
        metadata=[("x-sockrpc-test-echo-initial", "hello"),
                  ("x-sockrpc-test-echo-trailing-bin", b"\x00\x01\xff")])
    assert ("x-sockrpc-test-echo-initial", "hello") in call.initial_metadata()
    assert ("x-sockrpc-test-echo-trailing-bin", b"\x00\x01\xff") in (
        call.trailing_metadata())


def in_flight(upstream, name):
    """Calls of `name` in flight on the upstream, from `sockrpc stats`."""
    result = subprocess.run(
        [str(BIN_DIR / "sockrpc"), "stats", "--json", upstream.address],
        capture_output=True, text=True, timeout=TIMEOUT, check=True)
    for entry in json.loads(result.stdout).get("methods", []):
        if entry["method"].endswith("/" + name):
            return int(entry.get("inFlight", 0))
    return 0


def wait_until(predicate):
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        assert time.monotonic() < deadline, "not within %gs" % TIMEOUT
        time.sleep(0.01)


def test_deadline_and_cancellation_reach_the_upstream(channel, stubs,
                                                      upstream):
    pb = stubs.interop_pb2
    sleep = method(channel, "SleepCall", "unary_unary", pb.SleepRequest,
                   pb.Nothing)
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as error:
        sleep(pb.SleepRequest(sleep_ms=30000), timeout=0.2)
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - start < 2.1
    wait_until(lambda: in_flight(upstream, "SleepCall") == 0)
    # No deadline: only the client's cancel ends it, upstream too.
    future = sleep.future(pb.SleepRequest(sleep_ms=60000))
    wait_until(lambda: in_flight(upstream, "SleepCall") == 1)
    assert future.cancel()
    wait_until(lambda: in_flight(upstream, "SleepCall") == 0)


def test_a_client_that_stops_reading_holds_back_the_upstream(
        channel, stubs, upstream, gateway):
    pb = stubs.interop_pb2
    download = method(channel, "StreamingOutputCall", "unary_stream",
                      pb.DownloadRequest, pb.StreamChunk)
    call = download(pb.DownloadRequest(reply_sizes=[1000000] * 64),
                    timeout=TIMEOUT * 3)
    assert next(call).index == 0
    wait_until(lambda: in_flight(upstream, "StreamingOutputCall") == 1)
    rss_before = rss_kib(gateway)
    # The upstream is held back by flow control: still in flight, with the
    # gateway holding at most one reply of it, however long we wait.
    time.sleep(0.5)
    assert in_flight(upstream, "StreamingOutputCall") == 1
    assert rss_kib(gateway) - rss_before < 16 * 1024
    received = 1 + sum(1 for _ in call)
    assert received == 64


def rss_kib(server):
    with open("/proc/%d/status" % server.process.pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_grpc_reflection_from_the_upstreams(channel, reflection_pb2):
    rpb = reflection_pb2
    info = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=rpb.ServerReflectionRequest.SerializeToString,
        response_deserializer=rpb.ServerReflectionResponse.FromString)
    requests = [
        rpb.ServerReflectionRequest(list_services=""),
        rpb.ServerReflectionRequest(
            file_containing_symbol="sockrpc.interop.InteropTest"),
        rpb.ServerReflectionRequest(
            file_containing_symbol="sockrpc.interop.InteropTest.UnaryCall"),
        rpb.ServerReflectionRequest(file_by_filename="interop.proto"),
        rpb.ServerReflectionRequest(file_containing_symbol="no.Such"),
    ]
    responses = list(info(iter(requests), timeout=TIMEOUT))
    assert len(responses) == 5
    services = [s.name for s in responses[0].list_services_response.service]
    assert "sockrpc.interop.InteropTest" in services
    assert "grpc.reflection.v1alpha.ServerReflection" in services
    from google.protobuf import descriptor_pb2
    for response in responses[1:4]:
        files = [descriptor_pb2.FileDescriptorProto.FromString(f).name
                 for f in response.file_descriptor_response.file_descriptor_proto]
        assert files[-1] == "interop.proto", files
    assert responses[4].error_response.error_code == 5


def test_upstream_ending_while_the_client_still_sends(channel, stubs):
    # The upstream ends the call at its first request while the client
    # keeps streaming: the gateway must stop forwarding, never touch the
    # ended upstream call, and report the upstream's status.
    pb = stubs.interop_pb2
    duplex = method(channel, "FullDuplexCall", "stream_stream",
                    pb.DuplexRequest, pb.StreamChunk)
    refused = pb.DuplexRequest(echo_status=pb.StatusToEcho(
        code=9, message="not now"))
    for _ in range(50):
        requests = [refused] + [pb.DuplexRequest(body=b"z" * 1000)] * 200
        with pytest.raises(grpc.RpcError) as error:
            list(duplex(iter(requests), timeout=TIMEOUT))
        assert (error.value.code(), error.value.details()) == (
            grpc.StatusCode.FAILED_PRECONDITION, "not now")


def test_a_request_that_is_not_protobuf(channel):
    with pytest.raises(grpc.RpcError) as error:
        channel.unary_unary(METHOD + "EmptyCall")(b"\xff\xff\xff",
                                                  timeout=TIMEOUT)
    assert error.value.code() == grpc.StatusCode.INTERNAL
    assert "not protobuf's wire format" in error.value.details()
