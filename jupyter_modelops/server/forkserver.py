"""A fork server for test registries: ``jupyter modelops serve`` without the import cost.

Starting ``jupyter modelops serve`` costs ~2 s, nearly all of it importing jupyter_server,
tornado, SQLAlchemy and friends. This process imports them once, then forks one child per
request; each child runs the real command line (``jupyter_modelops.cli.app.main`` with
``["serve", ...]``) in a fresh process with its own home, port, environment and log file,
so every test still talks to a separate, real server over a real socket.

Protocol (one JSON object per line): stdin ``{"argv": [...], "env": {...}, "log": path,
"cwd": path}``; stdout ``{"pid": n}``. Children are reaped automatically; the test side
ends them by pid. EOF on stdin ends the fork server (children keep running until killed).
"""

from __future__ import annotations

import json
import os
import signal
import sys


def preload() -> None:
    """Import what a registry needs, and run the migrations once on a scratch store."""
    import shutil
    import tempfile

    import jupyter_server.serverapp  # noqa: F401
    import pandas  # noqa: F401

    import jupyter_modelops.cli.app  # noqa: F401
    import jupyter_modelops.registry.models  # noqa: F401
    import jupyter_modelops.server.app  # noqa: F401
    import jupyter_modelops.server.auth  # noqa: F401
    import jupyter_modelops.server.handlers  # noqa: F401
    import jupyter_modelops.services  # noqa: F401
    import jupyter_modelops.users  # noqa: F401
    from jupyter_modelops.store.store import Store

    tmp = tempfile.mkdtemp(prefix="modelops-preload-")
    try:
        Store(f"sqlite:///{tmp}/store.db", f"{tmp}/artifacts", user="preload").close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def die_with_parent() -> None:
    """Linux: get SIGTERM when the parent exits, so no test server outlives its test run."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def child(req: dict) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    die_with_parent()
    for key, value in req.get("env", {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    fd = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.close(null)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    if req.get("cwd"):
        os.chdir(req["cwd"])
    from jupyter_modelops.cli.app import main

    code = 0
    try:
        sys.argv = ["jupyter-modelops", *req["argv"]]
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    die_with_parent()
    preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            child(req)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
