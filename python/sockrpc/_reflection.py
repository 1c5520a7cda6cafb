"""Dynamic calls: a method's types learned from the server's reflection
service (docs/PROTOCOL.md section 14), requests and replies as dicts in
protobuf's JSON mapping.
"""

import threading

from google.protobuf import descriptor_pb2, descriptor_pool, json_format
from google.protobuf import message_factory

from sockrpc import reflection_pb2
from sockrpc._status import RpcError, StatusCode

_SERVICE = "/sockrpc.reflection.v1.Reflection/"


def _message_class(descriptor):
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(descriptor.file.pool).GetPrototype(
        descriptor)


class DynamicCalls:
    """The schema a channel's server hands out, fetched as methods are
    first called. Thread-safe."""

    def __init__(self, channel):
        self._channel = channel
        self._lock = threading.Lock()
        self._pool = descriptor_pool.DescriptorPool()
        self._files = set()
        self._file_containing = channel.unary_unary(
            _SERVICE + "FileContainingSymbol",
            reflection_pb2.FileContainingSymbolRequest.SerializeToString,
            reflection_pb2.FileContainingSymbolReply.FromString)

    def method(self, full_name, timeout=None):
        """The MethodDescriptor of "/package.Service/Method"."""
        _, service_name, method_name = full_name.split("/")
        with self._lock:
            try:
                service = self._pool.FindServiceByName(service_name)
            except KeyError:
                self._load(service_name, timeout)
                try:
                    service = self._pool.FindServiceByName(service_name)
                except KeyError:
                    raise RpcError(StatusCode.NOT_FOUND,
                                   "the server's reflection has no service %s"
                                   % service_name) from None
        method = service.methods_by_name.get(method_name)
        if method is None:
            raise RpcError(StatusCode.NOT_FOUND, "service %s has no method %s"
                           % (service_name, method_name))
        return method

    def _load(self, symbol, timeout):
        reply = self._file_containing(
            reflection_pb2.FileContainingSymbolRequest(symbol=symbol),
            timeout=timeout)
        # Each file comes after its dependencies.
        for encoded in reply.file_descriptor_protos:
            proto = descriptor_pb2.FileDescriptorProto.FromString(encoded)
            if proto.name not in self._files:
                self._pool.Add(proto)
                self._files.add(proto.name)

    def call(self, full_name, request, timeout, metadata):
        method = self.method(full_name, timeout)
        request_class = _message_class(method.input_type)
        reply_class = _message_class(method.output_type)
        client_streaming = method.client_streaming
        server_streaming = method.server_streaming

        def parse(value):
            try:
                return json_format.ParseDict(value or {}, request_class())
            except json_format.ParseError as e:
                raise RpcError(StatusCode.INVALID_ARGUMENT,
                               "request does not match %s: %s"
                               % (method.input_type.full_name, e)) from None

        if client_streaming:
            requests = [parse(r) for r in (request or [])]
        else:
            requests = parse(request)
        args = (full_name, lambda m: m.SerializeToString(),
                reply_class.FromString)
        kinds = {(False, False): self._channel.unary_unary,
                 (False, True): self._channel.unary_stream,
                 (True, False): self._channel.stream_unary,
                 (True, True): self._channel.stream_stream}
        result = kinds[(client_streaming, server_streaming)](*args)(
            iter(requests) if client_streaming else requests,
            timeout=timeout, metadata=metadata)
        if server_streaming:
            return [json_format.MessageToDict(m) for m in result]
        return json_format.MessageToDict(result)
