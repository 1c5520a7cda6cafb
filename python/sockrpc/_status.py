"""Status codes and the exception a failed call raises.

The 17 codes are gRPC's, with the same numbers (docs/PROTOCOL.md section 7).
"""

import enum


class StatusCode(enum.IntEnum):
    """A call's outcome; OK is 0, anything else is an error."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    def __str__(self):
        return self.name

    @classmethod
    def from_wire(cls, code):
        """The code a STATUS or GOAWAY carries; UNKNOWN above 16."""
        try:
            return cls(code)
        except ValueError:
            return cls.UNKNOWN


class RpcError(Exception):
    """A call that ended with a code other than OK.

    Carries the code, the server's (or the library's) message, and the
    call's metadata, as grpc.RpcError does: code(), details(),
    initial_metadata(), trailing_metadata().
    """

    def __init__(self, code, details, initial_metadata=(),
                 trailing_metadata=()):
        super().__init__(code, details)
        self._code = StatusCode(code)
        self._details = details
        self._initial_metadata = tuple(initial_metadata or ())
        self._trailing_metadata = tuple(trailing_metadata or ())

    def code(self):
        return self._code

    def details(self):
        return self._details

    def initial_metadata(self):
        return self._initial_metadata

    def trailing_metadata(self):
        return self._trailing_metadata

    def __str__(self):
        return "%s: %s" % (self._code.name, self._details)

    def __repr__(self):
        return "RpcError(%s, %r)" % (self._code.name, self._details)
