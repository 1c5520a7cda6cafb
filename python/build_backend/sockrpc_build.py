"""A PEP 517 build backend for the sockrpc package, written for this tree
alone: it packs sockrpc/*.py into a pure-Python wheel (or the tree into an
sdist) from pyproject.toml's [project] table, and needs no other package,
so `pip install ./python` works with no index to fetch setuptools from.
"""

import base64
import hashlib
import io
import os
import tarfile
import tomllib
import zipfile

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE = "sockrpc"


def _project():
    with open(os.path.join(_ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]


def _metadata(project):
    lines = ["Metadata-Version: 2.1",
             "Name: %s" % project["name"],
             "Version: %s" % project["version"],
             "Summary: %s" % project["description"],
             "Requires-Python: %s" % project["requires-python"],
             "License: %s" % project["license"]["text"]]
    lines += ["Requires-Dist: %s" % d for d in project.get("dependencies", [])]
    return "\n".join(lines) + "\n"


def _entry_points(project):
    scripts = project.get("scripts", {})
    if not scripts:
        return None
    return "[console_scripts]\n" + "".join(
        "%s = %s\n" % item for item in sorted(scripts.items()))


def _package_files():
    directory = os.path.join(_ROOT, _PACKAGE)
    for name in sorted(os.listdir(directory)):
        if name.endswith(".py"):
            yield "%s/%s" % (_PACKAGE, name), os.path.join(directory, name)


def _dist_info(project):
    return "%s-%s.dist-info" % (project["name"], project["version"])


def _dist_info_files(project):
    files = {"METADATA": _metadata(project),
             "WHEEL": "Wheel-Version: 1.0\nGenerator: sockrpc_build\n"
                      "Root-Is-Purelib: true\nTag: py3-none-any\n",
             "top_level.txt": _PACKAGE + "\n"}
    entry_points = _entry_points(project)
    if entry_points:
        files["entry_points.txt"] = entry_points
    return files


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return "%s,sha256=%s,%d\n" % (path, digest.rstrip(b"=").decode(), len(data))


# ---- PEP 517 hooks ----

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    project = _project()
    info = os.path.join(metadata_directory, _dist_info(project))
    os.makedirs(info, exist_ok=True)
    for name, text in _dist_info_files(project).items():
        with open(os.path.join(info, name), "w") as f:
            f.write(text)
    return _dist_info(project)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = _project()
    name = "%s-%s-py3-none-any.whl" % (project["name"], project["version"])
    info = _dist_info(project)
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w",
                         zipfile.ZIP_DEFLATED) as wheel:
        for path, source in _package_files():
            with open(source, "rb") as f:
                data = f.read()
            wheel.writestr(path, data)
            record.append(_record_line(path, data))
        for file_name, text in _dist_info_files(project).items():
            path = "%s/%s" % (info, file_name)
            wheel.writestr(path, text)
            record.append(_record_line(path, text.encode()))
        record.append("%s/RECORD,,\n" % info)
        wheel.writestr("%s/RECORD" % info, "".join(record))
    return name


def build_sdist(sdist_directory, config_settings=None):
    project = _project()
    base = "%s-%s" % (project["name"], project["version"])
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as sdist:
        for relative in ["pyproject.toml", "README.md",
                         "build_backend/sockrpc_build.py"]:
            sdist.add(os.path.join(_ROOT, relative), "%s/%s" % (base, relative))
        for path, source in _package_files():
            sdist.add(source, "%s/%s" % (base, path))
        pkg_info = _metadata(project).encode()
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        info.size = len(pkg_info)
        sdist.addfile(info, io.BytesIO(pkg_info))
    return name
