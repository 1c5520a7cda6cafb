"""The four kinds of call, as callables bound to a method (grpcio's
"multi-callables"), and the Call object a call exposes.

A call's bytes go through its Connection; requests are serialized and
replies parsed here, with the functions the stub (or the caller) gave.
"""

import threading
import time

from sockrpc._status import RpcError, StatusCode


def _serialize(request):
    return request if isinstance(request, bytes) else request.SerializeToString()


class Call:
    """One call in flight or over: its metadata, outcome and cancellation.

    Thread-safe. Methods that report the outcome wait for the call to end.
    """

    def __init__(self, connection, stream, deserializer):
        self._connection = connection
        self._stream = stream
        self._deserializer = deserializer

    def initial_metadata(self):
        """The server's initial metadata (waits for it or the end)."""
        self._connection.wait_for_metadata(self._stream)
        return self._stream.initial_metadata or ()

    def trailing_metadata(self):
        self._connection.wait_until_done(self._stream)
        return self._stream.trailing_metadata

    def code(self):
        self._connection.wait_until_done(self._stream)
        return self._stream.code

    def details(self):
        self._connection.wait_until_done(self._stream)
        return self._stream.details

    def is_active(self):
        return not self._stream.done

    def time_remaining(self):
        """Seconds left until the deadline; None without one."""
        if self._stream.deadline is None:
            return None
        return max(0.0, self._stream.deadline - time.monotonic())

    def cancel(self):
        """Ends the call with CANCELLED and tells the server; False if it
        had ended already."""
        was_active = not self._stream.done
        self._connection.cancel(self._stream, StatusCode.CANCELLED,
                                "cancelled by the client")
        return was_active

    def _error(self):
        stream = self._stream
        return RpcError(stream.code, stream.details,
                        stream.initial_metadata or (),
                        stream.trailing_metadata)

    def _parse(self, payload, what):
        if self._deserializer is None:
            return payload
        try:
            return self._deserializer(payload)
        except Exception:
            # The reply's type, if the deserializer is a message's FromString.
            owner = getattr(self._deserializer, "__self__", None)
            descriptor = getattr(owner, "DESCRIPTOR", None)
            details = "failed to parse %s (%s)" % (
                what, getattr(descriptor, "full_name", "deserializer failed"))
            self._connection.cancel(self._stream, StatusCode.INTERNAL, details)
            raise RpcError(StatusCode.INTERNAL, details,
                           self._stream.initial_metadata or ()) from None

    def _unary_result(self):
        """The one reply of an ended unary or client-streaming call."""
        self._connection.wait_until_done(self._stream)
        if self._stream.code != StatusCode.OK:
            raise self._error()
        if not self._stream.inbox:
            raise RpcError(StatusCode.INTERNAL,
                           "server ended the call without a reply",
                           self._stream.initial_metadata or (),
                           self._stream.trailing_metadata)
        return self._parse(self._stream.inbox[0], "the reply")


class UnaryFuture(Call):
    """A unary call in flight, made with future(): result() waits for it."""

    def result(self, timeout=None):
        """The reply; raises RpcError if the call failed. `timeout` bounds
        this wait only (TimeoutError), not the call."""
        if timeout is not None and not self._connection.wait_until_done(
                self._stream, timeout):
            raise TimeoutError("the call has not ended within %gs" % timeout)
        return self._unary_result()

    def exception(self, timeout=None):
        """The call's RpcError, or None if it succeeded."""
        try:
            self.result(timeout)
        except RpcError as e:
            return e
        return None

    def done(self):
        return self._stream.done


class ResponseStream(Call):
    """A call whose replies are read as an iterator; raises RpcError at
    the end if the call failed."""

    def __iter__(self):
        return self

    def __next__(self):
        payload = self._connection.read(self._stream)
        if payload is None:
            if self._stream.code != StatusCode.OK:
                raise self._error()
            raise StopIteration
        return self._parse(payload, "a reply")

    def next(self):
        return self.__next__()


def _send_requests(call, requests, serializer):
    """Writes each request as the window allows, then half-closes; stops
    when the call ends. A request iterator that raises cancels the call."""
    connection, stream = call._connection, call._stream
    try:
        for request in requests:
            payload = serializer(request) if serializer else _serialize(request)
            if not connection.send_message(stream, payload):
                return
    except Exception as e:  # the application's iterator failed
        connection.cancel(stream, StatusCode.CANCELLED,
                          "the request iterator raised %s: %s"
                          % (type(e).__name__, e))
        return
    connection.half_close(stream)


def _start_sender(call, requests, serializer):
    threading.Thread(target=_send_requests, args=(call, requests, serializer),
                     name="sockrpc-sender", daemon=True).start()


class _MultiCallable:
    def __init__(self, channel, method, serializer, deserializer):
        self._channel = channel
        self._method = method
        self._serializer = serializer
        self._deserializer = deserializer

    def _request_bytes(self, request):
        if self._serializer is not None:
            return self._serializer(request)
        return _serialize(request)

    def _start(self, request, timeout, metadata, call_type=Call):
        connection, stream = self._channel._start_call(
            self._method, metadata, timeout, request)
        return call_type(connection, stream, self._deserializer)


class UnaryUnaryMultiCallable(_MultiCallable):
    def __call__(self, request, timeout=None, metadata=None):
        return self.with_call(request, timeout, metadata)[0]

    def future(self, request, timeout=None, metadata=None):
        """Starts the call and returns at once: a UnaryFuture."""
        return self._start(self._request_bytes(request), timeout, metadata,
                           UnaryFuture)

    def with_call(self, request, timeout=None, metadata=None):
        """The reply and the Call (its metadata)."""
        call = self._start(self._request_bytes(request), timeout, metadata)
        return call._unary_result(), call


class UnaryStreamMultiCallable(_MultiCallable):
    def __call__(self, request, timeout=None, metadata=None):
        return self._start(self._request_bytes(request), timeout, metadata,
                           ResponseStream)


class StreamUnaryMultiCallable(_MultiCallable):
    def __call__(self, request_iterator, timeout=None, metadata=None):
        return self.with_call(request_iterator, timeout, metadata)[0]

    def with_call(self, request_iterator, timeout=None, metadata=None):
        call = self._start(None, timeout, metadata)
        _send_requests(call, request_iterator, self._serializer)
        return call._unary_result(), call

    def future(self, request_iterator, timeout=None, metadata=None):
        """Starts the call and returns at once: a UnaryFuture; the requests
        are sent by a thread of the call's own."""
        call = self._start(None, timeout, metadata, UnaryFuture)
        _start_sender(call, request_iterator, self._serializer)
        return call


class StreamStreamMultiCallable(_MultiCallable):
    def __call__(self, request_iterator, timeout=None, metadata=None):
        """A ResponseStream; the requests are sent by a thread of the call's
        own, as the server's window allows."""
        call = self._start(None, timeout, metadata, ResponseStream)
        _start_sender(call, request_iterator, self._serializer)
        return call
