"""The package as a user gets it: `pip install ./python` into a venv made
with --system-site-packages (Debian's python3-protobuf), then the README's
script, and stubs made by the installed protoc-gen-sockrpc_python.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import PYTHON_DIR, REPO

TIMEOUT = 120


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages",
                    str(root)], check=True, timeout=TIMEOUT)
    # No index: everything pip needs is in the tree or already installed.
    subprocess.run([str(root / "bin" / "pip"), "install", "--no-index",
                    "--quiet", str(PYTHON_DIR)], check=True, timeout=TIMEOUT,
                   cwd=str(root))
    return root


def run_in(venv, script, cwd):
    """Runs `script` with the venv's python, outside the source tree."""
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", textwrap.dedent(script)],
        capture_output=True, text=True, timeout=TIMEOUT, cwd=str(cwd),
        env={"PATH": "%s:%s" % (venv / "bin", os.environ["PATH"])})
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_readme_script_calls_the_server(venv, increment_server, tmp_path):
    readme = (REPO / "README.md").read_text()
    script = re.search(r"```python\n(# call_increment\.py.*?)```", readme,
                       re.S).group(1)
    (tmp_path / "call_increment.py").write_text(script)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "call_increment.py",
         increment_server.address], capture_output=True, text=True,
        timeout=TIMEOUT, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "{'character': 'B'}\n"
        'INVALID_ARGUMENT character must be exactly one UTF-8 character, got '
        '"AB"\n')


def test_installed_stubs_generator(venv, increment_server, tmp_path):
    plugin = venv / "bin" / "protoc-gen-sockrpc_python"
    assert plugin.exists()
    subprocess.run(
        ["protoc", "-I", str(REPO / "examples" / "increment"),
         "--plugin=%s" % plugin, "--python_out=.", "--sockrpc_python_out=.",
         "increment.proto"], check=True, cwd=str(tmp_path), timeout=TIMEOUT)
    output = run_in(venv, """
        import sockrpc, increment_pb2, increment_sockrpc
        with sockrpc.Channel(%r) as channel:
            stub = increment_sockrpc.IncrementStub(channel)
            print(stub.Increment(increment_pb2.IncrementRequest(character="x"),
                                 timeout=10).character)
            print(sockrpc.__file__.startswith(%r))
        """ % (increment_server.address, str(venv)), tmp_path)
    assert output == "y\nTrue\n"


def test_versions_agree():
    import sockrpc
    pyproject = (PYTHON_DIR / "pyproject.toml").read_text()
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert re.search(r'^version = "%s"$' % re.escape(sockrpc.__version__),
                     pyproject, re.M)
    assert re.search(r"project\(sockrpc VERSION %s\b"
                     % re.escape(sockrpc.__version__), cmake)


def test_the_wire_modules_are_protocs_output(tmp_path):
    """sockrpc/*_pb2.py are generated from proto/sockrpc/*.proto."""
    protos = sorted(p.name for p in (REPO / "proto" / "sockrpc").glob("*.proto"))
    subprocess.run(["protoc", "-I", str(REPO / "proto"),
                    "--python_out=%s" % tmp_path]
                   + ["sockrpc/%s" % name for name in protos], check=True,
                   timeout=TIMEOUT)
    for name in protos:
        module = name.replace(".proto", "_pb2.py")
        generated = (tmp_path / "sockrpc" / module).read_text()
        assert (PYTHON_DIR / "sockrpc" / module).read_text() == generated, (
            "python/sockrpc/%s is stale: regenerate it with protoc -I proto "
            "--python_out=python proto/sockrpc/%s" % (module, name))
