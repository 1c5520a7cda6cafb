"""One connection to a server, carrying any number of calls at once.

Threads: a reader thread per connection reads the socket, cuts frames and
updates the calls' state under `_cond`, which every thread waiting on a
call waits on. Writers take `_write_lock` to write whole frames, so frames
never interleave and HEADERS go out in the order of their stream ids
(docs/PROTOCOL.md section 6.1). The reader never takes `_write_lock` and
waits for nobody: control frames it owes (a PING's answer) and those a
waiting thread owes (CANCEL, WINDOW_UPDATE) are queued under `_cond` and
written by whichever thread gets the write lock, never while holding
`_cond`. Lock order: `_write_lock`, then `_cond`.
"""

import collections
import select
import socket
import threading
import time

from sockrpc import _address, _frames, _metadata, wire_pb2
from sockrpc._status import RpcError, StatusCode

_RECV_SIZE = 256 * 1024
_CONTROL_SEND_TIMEOUT = 1.0


class Stream:
    """The state of one call; every field is guarded by its connection's
    `_cond`."""

    def __init__(self, deadline):
        self.id = 0
        self.deadline = deadline  # time.monotonic() value, or None
        self.inbox = collections.deque()
        self.initial_metadata = None  # set at server HEADERS or a reply
        self.trailing_metadata = ()
        self.metadata_size = 0
        self.code = None
        self.details = ""
        self.done = False
        self.send_window = _frames.INITIAL_WINDOW
        self.unacknowledged = 0
        self.half_closed = False


class Connection:
    def __init__(self, target, max_frame_size, max_metadata_size,
                 connect_timeout):
        self.target = target
        self._max_frame_size = max_frame_size
        self._max_metadata_size = max_metadata_size
        self._connect_timeout = connect_timeout
        deadline = time.monotonic() + connect_timeout
        self._sock = _address.connect(target, deadline)
        self._cond = threading.Condition(threading.Lock())
        self._write_lock = threading.Lock()
        self._control = []
        self._streams = {}
        self._next_id = 1
        self._broken = None  # (code, details) once failed
        self._going_away = False
        self._preface_deadline = deadline
        self._preface_arrived = False
        self._first_frame_seen = False
        self._frames = _frames.FrameReader(max_frame_size)
        # The preface fits in any socket buffer: it goes out now.
        self._sock.sendall(_frames.PREFACE)
        self._reader = threading.Thread(
            target=self._read_loop, name="sockrpc-reader %s" % target,
            daemon=True)
        self._reader.start()

    @property
    def usable(self):
        with self._cond:
            return self._broken is None and not self._going_away

    def close(self, code=StatusCode.CANCELLED, details="channel closed"):
        with self._cond:
            self._fail_locked(code, details)

    # ---- Calls ----

    def open(self, method, metadata_entries, deadline, request):
        """Starts a call: HEADERS, and with `request` (bytes) its MESSAGE
        with END_STREAM. Returns the Stream (perhaps already ended with the
        failure); raises Retry if the server certainly never saw it."""
        stream = Stream(deadline)
        header = wire_pb2.CallHeader(method=method)
        header.metadata.extend(metadata_entries)
        if request is not None and len(request) > self._max_frame_size:
            return self._ended(stream, StatusCode.RESOURCE_EXHAUSTED,
                               "request not sent: message of %d bytes "
                               "exceeds the frame limit of %d bytes"
                               % (len(request), self._max_frame_size))
        with self._write_lock:
            with self._cond:
                if self._broken is not None or self._going_away:
                    raise Retry()
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return self._ended(
                            stream, StatusCode.DEADLINE_EXCEEDED,
                            "deadline exceeded before the call started")
                    header.timeout_micros = max(1, int(remaining * 1e6))
                stream.id = self._next_id
                self._next_id += 1
                if request is not None:
                    stream.half_closed = True
                    stream.send_window -= len(request)
                self._streams[stream.id] = stream
            data = _frames.encode(_frames.HEADERS, stream.id,
                                  header.SerializeToString())
            if request is not None:
                data += _frames.encode(_frames.MESSAGE, stream.id, request,
                                       _frames.END_STREAM)
            outcome = self._send_locked(data, deadline)
        self._flush_control()
        if outcome is not None:
            with self._cond:
                if outcome == "timeout":
                    self._end_locked(
                        stream, StatusCode.DEADLINE_EXCEEDED,
                        "deadline exceeded while sending the request")
                elif outcome == "unsent":
                    raise Retry()
        return stream

    def send_message(self, stream, payload):
        """Sends one request on a streaming call, waiting for flow-control
        window; False if the call has ended (or this side half-closed)."""
        if len(payload) > self._max_frame_size:
            self.cancel(stream, StatusCode.RESOURCE_EXHAUSTED,
                        "request not sent: message of %d bytes exceeds the "
                        "frame limit of %d bytes"
                        % (len(payload), self._max_frame_size))
            return False
        with self._cond:
            self._wait_locked(
                stream, lambda: stream.half_closed or stream.send_window > 0)
            if stream.done or stream.half_closed:
                ready = False
            else:
                stream.send_window -= len(payload)
                ready = True
        if ready:
            with self._write_lock:
                outcome = self._send_locked(
                    _frames.encode(_frames.MESSAGE, stream.id, payload),
                    stream.deadline)
            if outcome == "timeout":
                self.cancel(stream, StatusCode.DEADLINE_EXCEEDED,
                            "deadline exceeded waiting for %s" % self.target,
                            "deadline exceeded")
            ready = outcome is None
        self._flush_control()
        return ready

    def half_close(self, stream):
        with self._cond:
            if stream.done or stream.half_closed:
                return
            stream.half_closed = True
        with self._write_lock:
            self._send_locked(_frames.encode(_frames.HALF_CLOSE, stream.id),
                              stream.deadline)
        self._flush_control()

    def read(self, stream):
        """The call's next reply payload, or None once it has ended."""
        with self._cond:
            self._wait_locked(stream, lambda: bool(stream.inbox))
            if not stream.inbox:
                payload = None
            else:
                payload = stream.inbox.popleft()
                stream.unacknowledged += len(payload)
                if (not stream.done and stream.unacknowledged
                        >= _frames.INITIAL_WINDOW // 2):
                    self._control.append(_frames.window_update(
                        stream.id, stream.unacknowledged))
                    stream.unacknowledged = 0
        self._flush_control()
        return payload

    def wait_for_metadata(self, stream):
        with self._cond:
            self._wait_locked(stream,
                              lambda: stream.initial_metadata is not None)
        self._flush_control()

    def wait_until_done(self, stream, timeout=None):
        """Waits for the call to end; with `timeout` (seconds), no longer:
        False if it has not ended by then."""
        with self._cond:
            self._wait_locked(stream, lambda: False, timeout)
            done = stream.done
        self._flush_control()
        return done

    def cancel(self, stream, code, details, reason="cancelled by the client"):
        with self._cond:
            if stream.done:
                return
            self._end_locked(stream, code, details)
            self._queue_cancel_locked(stream, reason)
        self._flush_control()

    # ---- Waiting ----

    def _wait_locked(self, stream, ready, timeout=None):
        """Waits on _cond until ready(), the call ends, or its deadline
        (then it ends DEADLINE_EXCEEDED and CANCEL is queued) or the
        server's preface is late (the connection fails), or `timeout`
        seconds pass."""
        give_up = None if timeout is None else time.monotonic() + timeout
        while not stream.done and not ready():
            now = time.monotonic()
            if give_up is not None and now >= give_up:
                return
            until = stream.deadline
            if not self._preface_arrived and (
                    until is None or self._preface_deadline < until):
                until = self._preface_deadline
            if until is not None and now >= until:
                if until == stream.deadline:
                    self._end_locked(stream, StatusCode.DEADLINE_EXCEEDED,
                                     "deadline exceeded waiting for %s"
                                     % self.target)
                    self._queue_cancel_locked(stream, "deadline exceeded")
                else:
                    self._fail_locked(StatusCode.UNAVAILABLE,
                                      self._no_preface())
                return
            if give_up is not None and (until is None or give_up < until):
                self._cond.wait(give_up - now)
            else:
                self._cond.wait(None if until is None else until - now)

    # ---- Writing ----

    def _send_locked(self, data, deadline):
        """Writes `data` whole under _write_lock, waiting for room until
        `deadline` (and, before the server's preface, no longer than it may
        take to come). Returns None once all went out, else why not:
        "timeout" (the deadline passed before a byte went out: the
        connection is sound), "unsent" (the socket failed before a byte went
        out: the server never saw it) or "failed" (the connection failed: a
        socket error, a frame cut short, or no preface in time)."""
        view = memoryview(data)
        sent = 0
        while sent < len(data):
            try:
                sent += self._sock.send(view[sent:], socket.MSG_DONTWAIT)
                continue
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                self._fail(StatusCode.UNAVAILABLE,
                           "connection to %s failed: %s" % (self.target, e))
                return "unsent" if sent == 0 else "failed"
            with self._cond:
                preface_bound = not self._preface_arrived and (
                    deadline is None or self._preface_deadline < deadline)
            until = self._preface_deadline if preface_bound else deadline
            timeout = None if until is None else until - time.monotonic()
            if timeout is not None and timeout <= 0:
                if preface_bound:
                    self._fail(StatusCode.UNAVAILABLE, self._no_preface())
                elif sent:  # a frame cut short: the stream is out of step
                    self._fail(StatusCode.UNAVAILABLE,
                               "connection to %s failed: out of time in the "
                               "middle of a frame" % self.target)
                else:
                    return "timeout"
                return "failed"
            select.select([], [self._sock], [], timeout)
        return None

    def _no_preface(self):
        return ("server at %s sent no preface within %gs (is it a sockrpc "
                "server?)" % (self.target, self._connect_timeout))

    def _flush_control(self):
        """Writes the queued control frames, unless another thread holds the
        write lock (it writes them when it lets go: every holder calls this
        after releasing)."""
        while True:
            with self._cond:
                if not self._control:
                    return
            if not self._write_lock.acquire(blocking=False):
                return
            try:
                with self._cond:
                    data = b"".join(self._control)
                    self._control.clear()
                self._send_locked(
                    data, time.monotonic() + _CONTROL_SEND_TIMEOUT)
            finally:
                self._write_lock.release()

    def _queue_cancel_locked(self, stream, reason):
        if stream.id:
            self._control.append(_frames.encode(
                _frames.CANCEL, stream.id,
                wire_pb2.CancelCall(reason=reason).SerializeToString()))

    # ---- Ending calls and the connection ----

    def _ended(self, stream, code, details):
        stream.done = True
        stream.code = code
        stream.details = details
        return stream

    def _end_locked(self, stream, code, details, trailing=()):
        if stream.done:
            return
        stream.done = True
        stream.code = code
        stream.details = details
        stream.trailing_metadata = trailing
        self._streams.pop(stream.id, None)
        self._cond.notify_all()

    def _fail(self, code, details):
        with self._cond:
            self._fail_locked(code, details)

    def _fail_locked(self, code, details):
        if self._broken is None:
            self._broken = (code, details)
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for stream in list(self._streams.values()):
            self._end_locked(stream, code, details)
        self._cond.notify_all()

    # ---- Reading (the reader thread) ----

    def __del__(self):
        # Unused by any thread now (the reader has stopped: it holds a
        # reference while it runs), so the descriptor cannot be reused
        # under one. A failed connection was shut down already.
        sock = getattr(self, "_sock", None)
        if sock is not None:
            sock.close()

    def _read_loop(self):
        while True:
            try:
                data = self._sock.recv(_RECV_SIZE)
            except OSError as e:
                self._fail(StatusCode.UNAVAILABLE,
                           "connection to %s failed: %s" % (self.target, e))
                return
            if not data:
                self._fail(StatusCode.UNAVAILABLE,
                           "connection to %s closed by the server"
                           % self.target)
                return
            self._frames.feed(data)
            with self._cond:
                try:
                    for frame in self._frames.frames():
                        self._handle_locked(frame)
                except _frames.ProtocolError as e:
                    if self._frames.preface_received:
                        self._fail_locked(
                            StatusCode.INTERNAL,
                            "protocol error from %s: %s" % (self.target, e))
                    else:
                        self._fail_locked(
                            StatusCode.UNAVAILABLE,
                            "%s from %s (is it a sockrpc server?)"
                            % (e, self.target))
                if (self._frames.preface_received
                        and not self._preface_arrived):
                    self._preface_arrived = True
                    self._cond.notify_all()
                broken = self._broken is not None
            self._flush_control()
            if broken:
                return

    def _handle_locked(self, frame):
        if not self._first_frame_seen:
            self._first_frame_seen = True
            if frame.type == _frames.SETTINGS and not frame.oversized:
                # We take no descriptors and announce none: nothing to keep.
                wire_pb2.Settings.FromString(frame.payload)
                return
        if frame.oversized:
            self._handle_oversized_locked(frame)
            return
        handler = _HANDLERS.get(frame.type)
        if handler is not None:
            handler(self, frame)

    def _handle_oversized_locked(self, frame):
        if not _frames.is_known(frame.type):
            return
        stream = self._streams.get(frame.stream_id)
        if stream is not None:
            self._end_locked(stream, StatusCode.RESOURCE_EXHAUSTED,
                             "reply frame of %d bytes exceeds the limit of %d "
                             "bytes" % (frame.length, self._max_frame_size))
            self._queue_cancel_locked(stream, "reply too large")

    def _on_headers(self, frame):
        stream = self._streams.get(frame.stream_id)
        if stream is None or stream.initial_metadata is not None:
            return
        try:
            header = wire_pb2.ResponseHeader.FromString(frame.payload)
        except Exception:  # a header that does not parse is ignored
            stream.initial_metadata = ()
            return
        stream.initial_metadata = _metadata.decode(header.metadata)
        self._count_metadata_locked(stream, header.metadata)

    def _on_message(self, frame):
        stream = self._streams.get(frame.stream_id)
        if stream is None:
            return
        if stream.initial_metadata is None:
            stream.initial_metadata = ()
        stream.inbox.append(frame.payload)
        self._cond.notify_all()

    def _on_status(self, frame):
        stream = self._streams.get(frame.stream_id)
        if stream is None:
            return
        try:
            status = wire_pb2.CallStatus.FromString(frame.payload)
        except Exception:
            self._end_locked(stream, StatusCode.INTERNAL,
                             "malformed STATUS frame from the server")
            return
        if stream.initial_metadata is None:
            stream.initial_metadata = ()
        if not self._count_metadata_locked(stream, status.metadata):
            return
        code = StatusCode.from_wire(status.code)
        details = status.message
        if code == StatusCode.UNKNOWN and status.code != 2:
            details = "unknown status code %d: %s" % (status.code, details)
        self._end_locked(stream, code, details,
                         _metadata.decode(status.metadata))

    def _count_metadata_locked(self, stream, entries):
        stream.metadata_size += _metadata.size_of(entries)
        if stream.metadata_size <= self._max_metadata_size:
            return True
        self._end_locked(stream, StatusCode.RESOURCE_EXHAUSTED,
                         "reply metadata of %d bytes exceeds the limit of %d "
                         "bytes" % (stream.metadata_size,
                                    self._max_metadata_size))
        return False

    def _on_window_update(self, frame):
        increment = _frames.window_increment(frame.payload)
        stream = self._streams.get(frame.stream_id)
        if stream is not None and increment is not None:
            stream.send_window += increment
            self._cond.notify_all()

    def _on_ping(self, frame):
        if not frame.flags & _frames.ACK:
            self._control.append(_frames.encode(
                _frames.PING, 0, frame.payload, _frames.ACK))

    def _on_goaway(self, frame):
        try:
            goaway = wire_pb2.GoAway.FromString(frame.payload)
        except Exception:
            goaway = wire_pb2.GoAway()
        self._going_away = True
        code = StatusCode.from_wire(goaway.code)
        for stream in list(self._streams.values()):
            if stream.id > goaway.last_stream_id:
                self._end_locked(
                    stream, StatusCode.UNAVAILABLE,
                    "the server at %s went away before the call (GOAWAY %s: "
                    "%s)" % (self.target, code.name, goaway.message))

    def _on_settings(self, frame):
        raise _frames.ProtocolError(
            "SETTINGS frame that is not the server's first")

    def _on_fds(self, frame):
        raise _frames.ProtocolError(
            "FDS frame, but this client accepts no file descriptors")


_HANDLERS = {
    _frames.HEADERS: Connection._on_headers,
    _frames.MESSAGE: Connection._on_message,
    _frames.STATUS: Connection._on_status,
    _frames.WINDOW_UPDATE: Connection._on_window_update,
    _frames.PING: Connection._on_ping,
    _frames.GOAWAY: Connection._on_goaway,
    _frames.SETTINGS: Connection._on_settings,
    _frames.FDS: Connection._on_fds,
}


class Retry(Exception):
    """The connection could not take the call and the server never saw it:
    try a fresh connection."""
