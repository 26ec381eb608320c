"""One command at a time per environment: an advisory lock on .state/<env>/.lock whose file
names the holder. The kernel drops the lock when the holder dies (even by kill -9)."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

from config import StudioEmrError


class EnvironmentLocked(StudioEmrError):
    """Another command holds this environment."""


class EnvironmentLock:
    def __init__(self, state_root: Path, env_name: str, command: str):
        self.path = state_root / env_name / ".lock"
        self.env_name = env_name
        self.command = command
        self._file = None

    def __enter__(self) -> "EnvironmentLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            raise EnvironmentLocked(f"environment {self.env_name!r} is locked by {_describe(holder)}; "
                                    "wait for it to finish (state is untouched)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                                 "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc) -> None:
        assert self._file is not None
        self._file.truncate(0)
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()


def _describe(holder: str) -> str:
    try:
        data = json.loads(holder)
    except json.JSONDecodeError:
        return "another process"
    return f"`{data['command']}` (pid {data['pid']} on {data['host']}, started {data['started']})"
