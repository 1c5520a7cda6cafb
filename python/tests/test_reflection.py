"""Dynamic calls: Channel.call() learns a method's types from the server's
reflection service and takes and returns dicts in protobuf's JSON mapping.
"""

import pytest

import sockrpc
from sockrpc import StatusCode

from conftest import BIN_DIR, start_server

TIMEOUT = 10.0


def test_increment_by_reflection(increment_server):
    with sockrpc.Channel(increment_server.address) as channel:
        assert channel.call("increment.Increment/Increment",
                            {"character": "A"}, timeout=TIMEOUT) == {
                                "character": "B"}
        # The schema is kept: a second call asks reflection nothing more.
        assert channel.call("/increment.Increment/Increment",
                            {"character": "y"}) == {"character": "z"}


def test_errors_of_the_call_and_of_the_request(increment_server):
    with sockrpc.Channel(increment_server.address) as channel:
        with pytest.raises(sockrpc.RpcError) as error:
            channel.call("increment.Increment/Increment", {"character": "AB"})
        assert error.value.code() == StatusCode.INVALID_ARGUMENT
        with pytest.raises(sockrpc.RpcError) as error:
            channel.call("increment.Increment/Increment", {"nope": 1})
        assert error.value.code() == StatusCode.INVALID_ARGUMENT
        assert "increment.IncrementRequest" in error.value.details()
        with pytest.raises(sockrpc.RpcError) as error:
            channel.call("increment.Increment/Decrement", {})
        assert error.value.code() == StatusCode.NOT_FOUND
        with pytest.raises(sockrpc.RpcError) as error:
            channel.call("increment.Nothing/Increment", {})
        assert error.value.code() == StatusCode.NOT_FOUND
        with pytest.raises(ValueError):
            channel.call("no-slash", {})


def test_every_call_kind_by_reflection(interop_server):
    method = "sockrpc.interop.InteropTest/"
    with sockrpc.Channel(interop_server.address) as channel:
        reply = channel.call(method + "UnaryCall", {"replySize": 3})
        assert reply == {"body": "EZQX",  # Pattern(3, 0), base64
                         "requestFingerprint": "14695981039346656037"}
        assert channel.call(method + "StreamingOutputCall",
                            {"replySizes": [1, 2]}) == [
                                {"body": "EQ=="}, {"index": 1, "body": "TtE="}]
        assert channel.call(method + "StreamingInputCall",
                            [{"body": "AAAA"}, {"body": "AA=="}]) == {
                                "totalSize": "4", "chunkCount": 2}
        assert channel.call(method + "HalfDuplexCall",
                            [{"replySize": 1}, {"replySize": 1}]) == [
                                {"body": "EQ=="}, {"index": 1, "body": "Tg=="}]


def test_a_server_without_reflection(tmp_path):
    server = start_server(tmp_path, BIN_DIR / "increment_server",
                          "--reflection=false")
    try:
        with sockrpc.Channel(server.address) as channel:
            with pytest.raises(sockrpc.RpcError) as error:
                channel.call("increment.Increment/Increment",
                             {"character": "A"})
            assert error.value.code() == StatusCode.UNIMPLEMENTED
    finally:
        server.stop()
