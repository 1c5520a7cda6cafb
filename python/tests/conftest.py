"""Fixtures of the Python package's tests: the real C++ servers of the
build (SOCKRPC_BIN_DIR, SOCKRPC_TEST_BIN_DIR; default build/bin and
build/tests/bin), each started on a unix socket in a temp dir, and typed
stubs generated at the start with protoc and protoc-gen-sockrpc_python.
"""

import importlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"
BIN_DIR = Path(os.environ.get("SOCKRPC_BIN_DIR", REPO / "build" / "bin"))
TEST_BIN_DIR = Path(os.environ.get("SOCKRPC_TEST_BIN_DIR",
                                   REPO / "build" / "tests" / "bin"))
START_TIMEOUT = 10.0

if str(PYTHON_DIR) not in sys.path and not os.environ.get(
        "SOCKRPC_TEST_INSTALLED"):
    sys.path.insert(0, str(PYTHON_DIR))


class ServerProcess:
    """A server binary listening on `address`, stopped with SIGTERM."""

    def __init__(self, binary, address, *args, prefix=()):
        self.address = address
        self.killed = False
        self.process = subprocess.Popen(
            [str(binary), *prefix, "--listen", address, *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        seen = self._await_line(b"listening on ")
        # The address it reports: the port an ephemeral one was given.
        self.address = seen.split(b"listening on ", 1)[1].split()[0].decode()
        # The rest of its standard error, read as it comes so that a
        # talkative server never blocks on a full pipe.
        self._errors = [seen]
        self._drain = threading.Thread(target=self._read_errors, daemon=True)
        self._drain.start()

    def _read_errors(self):
        for chunk in iter(lambda: os.read(self.process.stderr.fileno(), 65536),
                          b""):
            self._errors.append(chunk)

    def _await_line(self, text):
        """Reads standard error until a whole line holding `text`."""
        deadline = time.monotonic() + START_TIMEOUT
        seen = b""
        while text not in seen or not seen.split(text, 1)[1].count(b"\n"):
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.process.stderr], [], [],
                                        max(0, remaining))
            if not ready:
                self.process.kill()
                self.process.wait()
                raise RuntimeError("server did not start: %r" % seen)
            chunk = os.read(self.process.stderr.fileno(), 4096)
            if not chunk:
                raise RuntimeError("server exited: %r" % seen)
            seen += chunk
        return seen

    def kill(self):
        self.killed = True
        self.process.kill()
        self.process.wait(timeout=START_TIMEOUT)

    def stop(self):
        """SIGTERM; the server must then exit 0 (a sanitizer's report, a
        crash or a hang at shutdown fails the test)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                self.killed = False  # a hang, not the test's kill
        self._drain.join(START_TIMEOUT)
        errors = b"".join(self._errors).decode(errors="replace")
        self.process.stderr.close()
        if not self.killed:
            assert self.process.returncode == 0, (
                "%s exited with %s:\n%s" % (self.process.args[0],
                                           self.process.returncode,
                                           errors[-4000:]))


def start_server(tmp_path, binary, *args, name="server.sock", address=None):
    """`binary` listening on `address`, by default a unix socket in
    `tmp_path`."""
    return ServerProcess(binary, address or "unix:%s" % (tmp_path / name),
                         *args)


def start_gateway(upstream_address):
    """`sockrpc gateway` (which runs sockrpc-gateway beside it) on an
    ephemeral loopback port, forwarding to `upstream_address`; None if the
    gateway was not built (no gRPC)."""
    if not (BIN_DIR / "sockrpc-gateway").exists():
        return None
    return ServerProcess(BIN_DIR / "sockrpc", "127.0.0.1:0", "--upstream",
                         upstream_address, prefix=["gateway"])


def running(tmp_path_factory, binary):
    """A fixture's server: started, yielded, stopped."""
    server = start_server(tmp_path_factory.mktemp(binary.name), binary)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def interop_server(tmp_path_factory):
    yield from running(tmp_path_factory, TEST_BIN_DIR / "interop_server")


@pytest.fixture(scope="module")
def increment_server(tmp_path_factory):
    yield from running(tmp_path_factory, BIN_DIR / "increment_server")


def generate_stubs(out_dir, proto_dir, proto_name):
    """Runs protoc with --python_out and our plugin on `proto_name`."""
    plugin = out_dir / "protoc-gen-sockrpc_python"
    plugin.write_text(
        "#!/bin/sh\nPYTHONPATH=%s exec %s -m sockrpc.protoc_plugin\n"
        % (os.pathsep.join(sys.path), sys.executable))
    plugin.chmod(0o755)
    subprocess.run(
        ["protoc", "-I", str(proto_dir), "--plugin=%s" % plugin,
         "--python_out=%s" % out_dir, "--sockrpc_python_out=%s" % out_dir,
         proto_name], check=True)


@pytest.fixture(scope="session")
def stubs(tmp_path_factory):
    """The interop and increment modules: _pb2 and _sockrpc of each."""
    out = tmp_path_factory.mktemp("stubs")
    generate_stubs(out, REPO / "tests" / "interop", "interop.proto")
    generate_stubs(out, REPO / "examples" / "increment", "increment.proto")
    sys.path.insert(0, str(out))

    class Modules:
        interop_pb2 = importlib.import_module("interop_pb2")
        interop_sockrpc = importlib.import_module("interop_sockrpc")
        increment_pb2 = importlib.import_module("increment_pb2")
        increment_sockrpc = importlib.import_module("increment_sockrpc")

    return Modules
