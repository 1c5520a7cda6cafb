"""Metadata: ordered (key, value) pairs (docs/PROTOCOL.md section 6.7).

Keys are lower-case ASCII letters, digits, '-', '_' and '.'. A key ending
in "-bin" takes any bytes; any other key printable ASCII. Values go out as
bytes and come back as str, or as bytes for "-bin" keys (as in grpcio).
"""

import re

from sockrpc import wire_pb2
from sockrpc._status import RpcError, StatusCode

_KEY = re.compile(r"[a-z0-9_.\-]+\Z")
_PRINTABLE = re.compile(rb"[\x20-\x7e]*\Z")


def encode(metadata, limit):
    """`metadata` as MetadataEntry messages; raises RpcError (nothing sent)
    for an invalid entry or a total over `limit` bytes."""
    entries = []
    size = 0
    for key, value in metadata or ():
        if not isinstance(key, str) or not _KEY.match(key):
            raise RpcError(
                StatusCode.INVALID_ARGUMENT,
                "invalid metadata key %r: use lower-case letters, digits, "
                "'-', '_' and '.'" % (key,))
        if isinstance(value, str):
            value = value.encode("utf-8")
        elif not isinstance(value, (bytes, bytearray)):
            raise RpcError(StatusCode.INVALID_ARGUMENT,
                           "metadata value of %r is neither str nor bytes"
                           % key)
        if not key.endswith("-bin") and not _PRINTABLE.match(value):
            raise RpcError(
                StatusCode.INVALID_ARGUMENT,
                "invalid metadata value for key %r: only printable ASCII "
                "(or use a key ending in -bin)" % key)
        size += len(key) + len(value)
        entries.append(wire_pb2.MetadataEntry(key=key, value=bytes(value)))
    if size > limit:
        raise RpcError(StatusCode.RESOURCE_EXHAUSTED,
                       "metadata of %d bytes exceeds the limit of %d bytes"
                       % (size, limit))
    return entries


def decode(entries):
    """Received MetadataEntry messages as a tuple of (key, value)."""
    result = []
    for entry in entries:
        value = entry.value
        if not entry.key.endswith("-bin"):
            value = value.decode("utf-8", "replace")
        result.append((entry.key, value))
    return tuple(result)


def size_of(entries):
    return sum(len(e.key) + len(e.value) for e in entries)
