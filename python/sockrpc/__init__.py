"""sockrpc for Python: typed RPC over unix and TCP stream sockets, a client
of any sockrpc server (docs/PROTOCOL.md).

    import sockrpc
    with sockrpc.Channel("unix:/run/increment.sock") as channel:
        print(channel.call("increment.Increment/Increment",
                           {"character": "A"}))          # {'character': 'B'}

Typed stubs come from protoc-gen-sockrpc_python (sockrpc.protoc_plugin).
Pure Python; needs only the protobuf package.
"""

from sockrpc._calls import Call, ResponseStream, UnaryFuture
from sockrpc._channel import Channel
from sockrpc._status import RpcError, StatusCode

__version__ = "0.1.0"

__all__ = ["Call", "Channel", "ResponseStream", "RpcError", "StatusCode",
           "UnaryFuture", "__version__"]
