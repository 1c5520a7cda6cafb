"""Channel: calls to one server address over one shared connection, made
again when it fails or the server sends GOAWAY.
"""

import threading
import time

from sockrpc import _address, _calls, _connection, _frames, _metadata
from sockrpc._status import RpcError, StatusCode


class _Ended:
    """The connection of a call that failed before it was sent: every
    operation finds it over."""

    def wait_for_metadata(self, stream):
        pass

    def wait_until_done(self, stream, timeout=None):
        return True

    def read(self, stream):
        return None

    def send_message(self, stream, payload):
        return False

    def half_close(self, stream):
        pass

    def cancel(self, stream, code, details, reason=""):
        pass


_ENDED = _Ended()


def _full_method_name(method):
    """"/package.Service/Method"; the leading slash may be left out."""
    name = method if method.startswith("/") else "/" + method
    parts = name.split("/")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ValueError("bad method name %r: expected package.Service/Method"
                         % method)
    return name


class Channel:
    """Calls to the server at `target` (unix:PATH, unix-abstract:NAME,
    ipv4:A.B.C.D:PORT, ipv6:[ADDR]:PORT, HOST:PORT).

    Thread-safe: any number of threads may make calls at once; they share
    one connection, opened at the first call. A call the server certainly
    never saw (its connection had just closed) is tried once more on a new
    one. Close it (or use it as a context manager) to end its calls and
    connection.
    """

    def __init__(self, target, *, max_frame_size=_frames.DEFAULT_MAX_FRAME_SIZE,
                 max_metadata_size=_frames.DEFAULT_MAX_METADATA_SIZE,
                 connect_timeout=20.0):
        _address.check(target)  # raises ValueError for a bad one
        self.target = target
        self._max_frame_size = max_frame_size
        self._max_metadata_size = max_metadata_size
        self._connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._connection = None
        self._closed = False
        self._dynamic = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to close
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Ends every call in flight with CANCELLED and closes the
        connection; later calls fail with CANCELLED."""
        with self._lock:
            self._closed = True
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    # ---- Typed calls (what generated stubs use) ----

    def unary_unary(self, method, request_serializer=None,
                    response_deserializer=None):
        return _calls.UnaryUnaryMultiCallable(
            self, _full_method_name(method), request_serializer,
            response_deserializer)

    def unary_stream(self, method, request_serializer=None,
                     response_deserializer=None):
        return _calls.UnaryStreamMultiCallable(
            self, _full_method_name(method), request_serializer,
            response_deserializer)

    def stream_unary(self, method, request_serializer=None,
                     response_deserializer=None):
        return _calls.StreamUnaryMultiCallable(
            self, _full_method_name(method), request_serializer,
            response_deserializer)

    def stream_stream(self, method, request_serializer=None,
                      response_deserializer=None):
        return _calls.StreamStreamMultiCallable(
            self, _full_method_name(method), request_serializer,
            response_deserializer)

    # ---- Dynamic calls, by the server's reflection ----

    def call(self, method, request=None, *, timeout=None, metadata=None):
        """Calls `method` ("package.Service/Method") with `request` in
        protobuf's JSON mapping (a dict; for a client-streaming or
        bidirectional method, a list of dicts), learning its types from the
        server's reflection service. Returns the reply as a dict, or a list
        of dicts for a server-streaming or bidirectional method."""
        from sockrpc import _reflection
        with self._lock:
            if self._dynamic is None:
                self._dynamic = _reflection.DynamicCalls(self)
            dynamic = self._dynamic
        return dynamic.call(_full_method_name(method), request, timeout,
                            metadata)

    # ---- Internal ----

    def _start_call(self, method, metadata, timeout, request):
        """(connection, stream) of a new call; the stream may have ended
        already (then the connection is a stand-in)."""
        entries = _metadata.encode(metadata, self._max_metadata_size)
        deadline = None if timeout is None else time.monotonic() + timeout
        for attempt in range(2):
            try:
                connection = self._get_connection(deadline)
            except RpcError as e:
                return _ENDED, _ended_stream(deadline, e.code(), e.details())
            try:
                return connection, connection.open(method, entries, deadline,
                                                   request)
            except _connection.Retry:
                if attempt == 1:
                    return _ENDED, _ended_stream(
                        deadline, StatusCode.UNAVAILABLE,
                        "connection to %s failed before the call was sent"
                        % self.target)

    def _get_connection(self, deadline):
        with self._lock:
            if self._closed:
                raise RpcError(StatusCode.CANCELLED, "the channel is closed")
            connection = self._connection
            if connection is not None and connection.usable:
                return connection
            timeout = self._connect_timeout
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 0:
                    raise RpcError(StatusCode.DEADLINE_EXCEEDED,
                                   "deadline exceeded before the call started")
            try:
                connection = _connection.Connection(
                    self.target, self._max_frame_size,
                    self._max_metadata_size, timeout)
            except _address.AddressError as e:
                raise RpcError(StatusCode.UNAVAILABLE, str(e)) from None
            except OSError as e:
                code = (StatusCode.DEADLINE_EXCEEDED
                        if isinstance(e, TimeoutError) and deadline is not None
                        else StatusCode.UNAVAILABLE)
                raise RpcError(code, "failed to connect to %s: %s"
                               % (self.target, e.strerror or e)) from None
            self._connection = connection
            return connection


def _ended_stream(deadline, code, details):
    stream = _connection.Stream(deadline)
    stream.done = True
    stream.code = code
    stream.details = details
    stream.initial_metadata = ()
    return stream
