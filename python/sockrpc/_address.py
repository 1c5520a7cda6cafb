"""Addresses in gRPC's target syntax (docs/PROTOCOL.md section 2), and
connecting to them.

    unix:PATH  unix:///ABS/PATH  unix-abstract:NAME
    ipv4:A.B.C.D:PORT  ipv6:[ADDR]:PORT  HOST:PORT
"""

import ipaddress
import socket
import time

_MAX_UNIX_PATH = 107


class AddressError(ValueError):
    """A target that names no address this library can reach."""


def _split_port(text, target):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise AddressError(
            "bad address %r: expected HOST:PORT with a port 0-65535" % target)
    return host, int(port)


def _unix(path, target):
    if not path:
        raise AddressError("bad address %r: empty socket path" % target)
    if len(path.encode()) > _MAX_UNIX_PATH:
        raise AddressError("bad address %r: unix path longer than %d bytes"
                           % (target, _MAX_UNIX_PATH))
    return [(socket.AF_UNIX, path)]


def resolve(target):
    """The (family, sockaddr) pairs to try for `target`, in order."""
    if target.startswith("unix-abstract:"):
        name = target[len("unix-abstract:"):]
        if not name:
            raise AddressError("bad address %r: empty abstract name" % target)
        # The address counts only NAME's bytes after the NUL.
        return [(socket.AF_UNIX, b"\0" + name.encode())]
    if target.startswith("unix://"):
        path = target[len("unix://"):]
        if not path.startswith("/"):
            raise AddressError(
                "bad address %r: unix:// takes an absolute path "
                "(unix:///run/x.sock)" % target)
        return _unix(path, target)
    if target.startswith("unix:"):
        return _unix(target[len("unix:"):], target)
    if target.startswith("systemd:"):
        raise AddressError("bad address %r: systemd: is for servers only"
                           % target)
    if target.startswith("ipv4:"):
        host, port = _split_port(target[len("ipv4:"):], target)
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise AddressError("bad address %r: %r is not an IPv4 literal"
                               % (target, host)) from None
        return [(socket.AF_INET, (host, port))]
    if target.startswith("ipv6:"):
        host, port = _split_port(target[len("ipv6:"):], target)
        if not (host.startswith("[") and host.endswith("]")):
            raise AddressError("bad address %r: expected ipv6:[ADDR]:PORT"
                               % target)
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise AddressError("bad address %r: %r is not an IPv6 literal"
                               % (target, host)) from None
        return [(socket.AF_INET6, (host[1:-1], port, 0, 0))]
    host, port = _split_port(target, target)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise AddressError("cannot resolve %r: %s" % (target, e)) from None
    return [(family, sockaddr) for family, _, _, _, sockaddr in infos]


def check(target):
    """Raises AddressError unless `target` is well formed (a HOST:PORT is
    not resolved: that happens at each connection)."""
    if target.startswith(("unix:", "unix-abstract:", "ipv4:", "ipv6:",
                          "systemd:")):
        resolve(target)
    else:
        _split_port(target, target)


def connect(target, deadline):
    """A connected, blocking stream socket to `target`.

    Raises AddressError for a bad target and OSError (TimeoutError past
    `deadline`, a time.monotonic() value) when no address answers.
    """
    last_error = None
    for family, sockaddr in resolve(target):
        sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out connecting to %s" % target)
            sock.settimeout(remaining)
            sock.connect(sockaddr)
            sock.settimeout(None)
            if family != socket.AF_UNIX:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as e:
            sock.close()
            last_error = e
    raise last_error
