"""The Channel beyond the interop cases: every address form, many threads
on one connection, flow control both ways, and closing."""

import os
import threading

import pytest

import sockrpc
from sockrpc import StatusCode

from conftest import TEST_BIN_DIR, start_server

TIMEOUT = 10.0


@pytest.mark.parametrize("listen,target", [
    ("ipv4:127.0.0.1:0", None),
    ("ipv6:[::1]:0", None),
    ("ipv4:127.0.0.1:0", "localhost:{port}"),
    ("unix-abstract:sockrpc-py-{pid}", None),
    ("unix:{dir}/s.sock", "unix://{dir}/s.sock"),
])
def test_every_address_form(tmp_path, stubs, listen, target):
    listen = listen.format(pid=os.getpid(), dir=tmp_path)
    server = start_server(tmp_path, TEST_BIN_DIR / "interop_server",
                          address=listen)
    try:
        port = server.address.rpartition(":")[2]
        target = (target or server.address).format(port=port, dir=tmp_path)
        with sockrpc.Channel(target) as channel:
            stub = stubs.interop_sockrpc.InteropTestStub(channel)
            reply = stub.UnaryCall(stubs.interop_pb2.UnaryRequest(
                reply_size=5), timeout=TIMEOUT)
            assert len(reply.body) == 5
    finally:
        server.stop()


def test_many_threads_share_one_connection(interop_server, stubs):
    pb = stubs.interop_pb2
    failures = []
    with sockrpc.Channel(interop_server.address) as channel:
        stub = stubs.interop_sockrpc.InteropTestStub(channel)
        stub.EmptyCall(pb.Nothing(), timeout=TIMEOUT)
        first = channel._connection

        def calls(t):
            try:
                for i in range(50):
                    size = (t * 50 + i) % 300
                    reply = stub.UnaryCall(pb.UnaryRequest(
                        body=b"x" * size, reply_size=size), timeout=TIMEOUT)
                    assert reply.request_size == size
                    assert len(reply.body) == size
            except BaseException as e:  # reported below
                failures.append(repr(e))

        threads = [threading.Thread(target=calls, args=(t,))
                   for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # One connection carried them all, and is still in use.
        assert channel._connection is first and first.usable
    assert failures == []


def test_uploads_beyond_the_window_wait_for_the_server(interop_server, stubs):
    # 64 KiB of window per stream: 4 MiB in 64 KiB chunks needs the
    # server's WINDOW_UPDATEs all along.
    pb = stubs.interop_pb2
    with sockrpc.Channel(interop_server.address) as channel:
        stub = stubs.interop_sockrpc.InteropTestStub(channel)
        chunks = (pb.UploadChunk(body=b"y" * 65536) for _ in range(64))
        summary = stub.StreamingInputCall(chunks, timeout=TIMEOUT)
        assert (summary.total_size, summary.chunk_count) == (64 * 65536, 64)


def test_downloads_beyond_the_window_are_acknowledged(interop_server, stubs):
    pb = stubs.interop_pb2
    with sockrpc.Channel(interop_server.address) as channel:
        stub = stubs.interop_sockrpc.InteropTestStub(channel)
        call = stub.StreamingOutputCall(
            pb.DownloadRequest(reply_sizes=[100000] * 30), timeout=TIMEOUT)
        assert sum(len(chunk.body) for chunk in call) == 3000000
        assert call.code() == StatusCode.OK


def test_closing_the_channel_ends_its_calls(interop_server, stubs):
    pb = stubs.interop_pb2
    channel = sockrpc.Channel(interop_server.address)
    stub = stubs.interop_sockrpc.InteropTestStub(channel)
    sleeper = stub.SleepCall.future(pb.SleepRequest(sleep_ms=60000))
    stub.EmptyCall(pb.Nothing(), timeout=TIMEOUT)  # the sleeper is sent
    channel.close()
    error = sleeper.exception(timeout=TIMEOUT)
    assert error.code() == StatusCode.CANCELLED
    with pytest.raises(sockrpc.RpcError) as later:
        stub.EmptyCall(pb.Nothing(), timeout=TIMEOUT)
    assert later.value.code() == StatusCode.CANCELLED
