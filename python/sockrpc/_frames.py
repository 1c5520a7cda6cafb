"""The byte stream: the preface, frame headers, and cutting received bytes
into frames (docs/PROTOCOL.md sections 3, 4 and 8).
"""

import collections
import struct

PREFACE = b"SOCKRPC\x01"
HEADER_SIZE = 12
DEFAULT_MAX_FRAME_SIZE = 4 * 1024 * 1024
INITIAL_WINDOW = 65536
DEFAULT_MAX_METADATA_SIZE = 16384

HEADERS = 0x01
MESSAGE = 0x02
STATUS = 0x03
CANCEL = 0x04
WINDOW_UPDATE = 0x05
PING = 0x06
GOAWAY = 0x07
HALF_CLOSE = 0x08
SETTINGS = 0x09
FDS = 0x0A
_KNOWN_TYPES = range(HEADERS, FDS + 1)
_CALL_TYPES = (HEADERS, MESSAGE, STATUS, CANCEL, HALF_CLOSE)
_NAMES = {HEADERS: "HEADERS", MESSAGE: "MESSAGE", STATUS: "STATUS",
          CANCEL: "CANCEL", WINDOW_UPDATE: "WINDOW_UPDATE", PING: "PING",
          GOAWAY: "GOAWAY", HALF_CLOSE: "HALF_CLOSE", SETTINGS: "SETTINGS",
          FDS: "FDS"}

END_STREAM = 0x01
ACK = 0x01

_HEADER = struct.Struct(">IIBBH")
_WINDOW = struct.Struct(">I")


def encode(frame_type, stream_id, payload=b"", flags=0):
    """One frame: the 12-byte header, then `payload`."""
    return _HEADER.pack(len(payload), stream_id, frame_type, flags, 0) + payload


def window_update(stream_id, increment):
    return encode(WINDOW_UPDATE, stream_id, _WINDOW.pack(increment))


def window_increment(payload):
    """A WINDOW_UPDATE's increment, or None if its payload is not 4 bytes."""
    if len(payload) != _WINDOW.size:
        return None
    return _WINDOW.unpack(payload)[0]


class ProtocolError(Exception):
    """The peer broke the framing rules: the connection cannot go on."""


Frame = collections.namedtuple(
    "Frame", "type flags stream_id payload oversized length")


class FrameReader:
    """Cuts the bytes a server sends into its preface and frames.

    feed() takes bytes as they arrive; frames() yields each complete frame.
    A frame over `max_frame_size` is not kept: it is yielded once with
    oversized=True and no payload, and its payload is skipped as it
    arrives. Frame headers breaking section 8.1's rules 1-4 raise
    ProtocolError; so does a bad preface.
    """

    def __init__(self, max_frame_size):
        self._max = max_frame_size
        self._buffer = bytearray()
        self._preface_done = False
        self._skipping = 0

    @property
    def preface_received(self):
        return self._preface_done

    def feed(self, data):
        self._buffer += data

    def frames(self):
        buffer = self._buffer
        while True:
            if self._skipping:
                n = min(self._skipping, len(buffer))
                del buffer[:n]
                self._skipping -= n
                if self._skipping:
                    return
            if not self._preface_done:
                if len(buffer) < len(PREFACE):
                    if not PREFACE.startswith(bytes(buffer)):
                        raise ProtocolError("bad server preface %r"
                                            % bytes(buffer))
                    return
                if bytes(buffer[:len(PREFACE)]) != PREFACE:
                    raise ProtocolError("bad server preface %r"
                                        % bytes(buffer[:len(PREFACE)]))
                del buffer[:len(PREFACE)]
                self._preface_done = True
            if len(buffer) < HEADER_SIZE:
                return
            length, stream_id, frame_type, flags, reserved = \
                _HEADER.unpack_from(buffer)
            _check_header(frame_type, stream_id, reserved)
            if length > self._max:
                del buffer[:HEADER_SIZE]
                self._skipping = length
                yield Frame(frame_type, flags, stream_id, b"", True, length)
                continue
            if len(buffer) < HEADER_SIZE + length:
                return
            payload = bytes(buffer[HEADER_SIZE:HEADER_SIZE + length])
            del buffer[:HEADER_SIZE + length]
            yield Frame(frame_type, flags, stream_id, payload, False, length)


def _check_header(frame_type, stream_id, reserved):
    """Section 8.1, rules 1-4, on a frame header alone."""
    name = _NAMES.get(frame_type, "type 0x%02x" % frame_type)
    if reserved != 0:
        raise ProtocolError("malformed frame header: reserved bytes are "
                            "not zero")
    if frame_type == 0:
        raise ProtocolError("malformed frame header: frame type 0")
    if frame_type in _CALL_TYPES and stream_id == 0:
        raise ProtocolError("malformed frame header: %s frame on stream 0"
                            % name)
    if frame_type in (PING, GOAWAY) and stream_id != 0:
        raise ProtocolError("malformed frame header: %s frame on stream %d"
                            % (name, stream_id))


def is_known(frame_type):
    return frame_type in _KNOWN_TYPES
