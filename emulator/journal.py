"""One line per request the emulator answered, so that a request AWS's SDK sent twice can be told
from two requests.

An SDK retries a call whose answer it did not get (a reset connection, a 5xx, a throttle) with
the same ``amz-sdk-invocation-id`` header and ``amz-sdk-request: attempt=N; max=M``: the journal
writes both, with the action, the caller's access key, the client's port, the status, how long
the answer took and the SDK that sent it (from its User-Agent: the provider's aws-sdk-go-v2, the
orchestrator's Botocore). So a retried create or delete is found beside the attempt it repeats,
with what that attempt was answered. Lines go to standard output, which is the emulator's log
(``.state/emulator.log``), beside any traceback of the same request.
"""

from __future__ import annotations

import io
import re
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

_write_lock = threading.Lock()
_KEY = re.compile(r"Credential=([A-Z0-9]+)/")
_ATTEMPT = re.compile(r"attempt=(\d+)")
_ENTRY = re.compile(r" request \S+ port=\S+ (?P<action>.+?) key=\S+ invocation=\S+ attempt=(?P<attempt>\S+) "
                    r"status=(?P<status>\S+) ")
_SDK = re.compile(r"(aws-sdk-go-v2|aws-sdk-go|Botocore|aws-cli|aws-sdk-java|aws-sdk-js)/[^\s]+", re.IGNORECASE)


def action_of(target: str | None, content_type: str, body: bytes, method: str, path: str) -> str:
    """The JSON protocols' ``X-Amz-Target`` (``SageMaker.CreateDomain``), the query protocols'
    ``Action`` form field (``DeleteVpcEndpoints``), else the method and path (REST: S3, the
    emulator's control paths). benchmarks/fault_proxy.py names the requests it faults with it too."""
    if target:
        return target
    if body and "x-www-form-urlencoded" in content_type:
        action = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    return f"{method} {path}"


@dataclass(frozen=True)
class Entry:
    """What a journal line says of a request: its action, the SDK's attempt (``-`` when the client
    sent none) and the status it was answered."""

    action: str
    attempt: str
    status: str


def entry(text: str) -> Entry | None:
    """The request a line of an emulator's log journals (``line`` writes it); None for any other line."""
    found = _ENTRY.search(text)
    return Entry(found["action"], found["attempt"], found["status"]) if found else None


def line(environ: dict, action: str, status: str, seconds: float, size: int) -> str:
    key = _KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    attempt = _ATTEMPT.search(environ.get("HTTP_AMZ_SDK_REQUEST", ""))
    when = datetime.now(timezone.utc).strftime("%H:%M:%S.%f")[:-3]
    return " ".join([
        when, "request", threading.current_thread().name, f"port={environ.get('REMOTE_PORT', '?')}",
        action, f"key={key.group(1) if key else '-'}",
        f"invocation={environ.get('HTTP_AMZ_SDK_INVOCATION_ID', '-')}",
        f"attempt={attempt.group(1) if attempt else '-'}",
        f"status={status.split(' ', 1)[0] or '?'}", f"ms={seconds * 1000:.0f}", f"bytes={size}",
        f"sdk={sdk.group(0) if (sdk := _SDK.search(environ.get('HTTP_USER_AGENT', ''))) else '-'}",
    ])


def wrap(app: Callable, out=None) -> Callable:
    """A WSGI app that answers as ``app`` does and journals each request once its answer is
    built (a request whose handler raised is journalled with status 500 before the error goes on
    to waitress, which answers it so)."""

    def journalled(environ: dict, start_response: Callable) -> Iterable[bytes]:
        start = time.monotonic()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if length:
            environ["wsgi.input"] = io.BytesIO(body)  # what moto reads
        status = [""]

        def recording(status_line: str, headers, exc_info=None):
            status[0] = status_line
            return start_response(status_line, headers, exc_info)

        answer: list[bytes] = []
        try:
            answer = list(app(environ, recording))
            return answer
        finally:  # an app that raised is answered 500 by waitress
            action = action_of(environ.get("HTTP_X_AMZ_TARGET"), environ.get("CONTENT_TYPE", ""), body,
                               environ.get("REQUEST_METHOD", "?"), environ.get("PATH_INFO", ""))
            _write(out, line(environ, action, status[0] or "500", time.monotonic() - start, sum(map(len, answer))))

    return journalled


def _write(out, text: str) -> None:
    stream = out or sys.stdout
    with _write_lock:
        stream.write(text + "\n")
        stream.flush()


def server_errors(log: Path) -> Counter:
    """The requests an emulator's log says it failed itself: each answer journalled with a 5xx
    status (``<action> answered 500``), and each traceback waitress logged for a handler that
    raised (``traceback: <its last line>``), counted. AWS answers the calls the emulator serves
    with a documented result or error, so each is an emulator bug (tests/conftest.py fails the
    session on one; benchmarks/faults.py reports them)."""
    found: Counter = Counter()
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    for number, text in enumerate(lines):
        if text.startswith("Exception while serving"):
            tail = next((later for later in lines[number + 1:] if later and not later.startswith((" ", "Traceback"))), "?")
            found[f"traceback: {tail.strip()}"] += 1
        elif (request := entry(text)) is not None and request.status.startswith("5"):
            found[f"{request.action} answered {request.status}"] += 1
    return found
