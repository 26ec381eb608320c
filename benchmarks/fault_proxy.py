"""A fault-injecting HTTP proxy in front of the embedded emulator, for benchmarks/faults.py.

Listens on 127.0.0.1 and forwards every request unchanged (the Host header included: SigV4 signs
it, and the emulator checks signatures) to the emulator. For AWS API requests (everything but the
emulator's control paths, ``/moto-api/`` and ``/_emulator/``), each request draws, with a seeded
random generator, at most one fault:

* ``throttle``: answered without forwarding, as the service's protocol throttles: EC2 query, 400
  ``<Response><Errors><Error><Code>RequestLimitExceeded``; other query services (IAM, STS,
  CloudFormation), 400 ``<ErrorResponse><Error><Type>Sender</Type><Code>Throttling``; JSON
  protocols (``application/x-amz-json-*``, and REST-JSON services such as EFS), 400
  ``{"__type": "ThrottlingException"}``; S3, 503 ``SlowDown``.
* ``5xx``: a 500 (InternalError) or 503 (ServiceUnavailable) in the same protocol, without forwarding.
* ``reset``: forwarded, the emulator's whole answer read (so the request took effect), then the
  client's connection reset (RST) without a byte of the answer: what a client sees when a load
  balancer or NAT drops a connection after AWS did the work.

Request bodies are forwarded byte for byte, chunked ones included (their framing kept, trailers
too); answers are read whole (chunked or not) and returned with a Content-Length. One thread per
client connection (ThreadingHTTPServer), each with a keep-alive connection to the emulator.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from emulator import journal

CONTROL_PREFIXES = ("/moto-api/", "/_emulator/")
KINDS = ("throttle", "5xx", "reset")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "upgrade", "expect", "proxy-authorization"}
QUERY_SERVICES = {"iam", "sts", "cloudformation", "sns", "sqs", "rds", "elasticloadbalancing", "autoscaling",
                  "monitoring", "ses", "redshift", "elasticache"}
CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass
class Event:
    phase: str
    kind: str
    service: str
    operation: str


@dataclass
class Stats:
    requests: Counter = field(default_factory=Counter)  # phase -> AWS API requests seen
    faults: Counter = field(default_factory=Counter)  # (phase, kind) -> count
    events: list[Event] = field(default_factory=list)
    client_drops: int = 0  # connections a client reset or broke itself


def service_of(headers, path: str) -> str:
    match = CREDENTIAL.search(headers.get("Authorization", ""))
    if match:
        return match.group(1)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    credential = (query.get("X-Amz-Credential") or [""])[0].split("/")
    return credential[3] if len(credential) >= 4 else "unknown"


def protocol_of(service: str, content_type: str) -> str:
    if content_type.startswith("application/x-amz-json"):
        return "json"
    if service == "ec2":
        return "ec2"
    if service == "s3":
        return "s3"
    if service in QUERY_SERVICES or content_type.startswith("application/x-www-form-urlencoded"):
        return "query"
    return "rest-json"


def operation_of(headers, path: str, body: bytes, method: str) -> str:
    """The operation a request calls, as the emulator's journal names it, with a JSON target's
    service prefix left off (``CreateDomain``)."""
    target = headers.get("X-Amz-Target")
    action = journal.action_of(target, headers.get("Content-Type", ""), body, method, urllib.parse.urlsplit(path).path)
    return action.rsplit(".", 1)[-1] if target else action


def error_answer(protocol: str, status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    """A protocol-appropriate AWS error: status, headers, body."""
    request_id = str(uuid.uuid4())
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": code, "message": message}).encode()
        content_type = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
        return status, {"Content-Type": content_type, "x-amzn-RequestId": request_id, "x-amzn-ErrorType": code}, body
    if protocol == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>")
    elif protocol == "s3":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{request_id}</RequestId><HostId>fault-proxy</HostId></Error>")
    else:
        kind = "Sender" if status < 500 else "Receiver"
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>'
                f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id, "x-amz-request-id": request_id}, body.encode()


def throttle_answer(protocol: str) -> tuple[int, dict[str, str], bytes]:
    if protocol == "ec2":
        return error_answer(protocol, 400, "RequestLimitExceeded", "Request limit exceeded.")
    if protocol == "query":
        return error_answer(protocol, 400, "Throttling", "Rate exceeded")
    if protocol == "s3":
        return error_answer(protocol, 503, "SlowDown", "Please reduce your request rate.")
    return error_answer(protocol, 400, "ThrottlingException", "Rate exceeded")


def server_error_answer(protocol: str, status: int) -> tuple[int, dict[str, str], bytes]:
    if status == 500:
        code = {"json": "InternalFailure", "rest-json": "InternalFailure", "ec2": "InternalError"}.get(protocol, "InternalError")
        return error_answer(protocol, 500, code, "We encountered an internal error. Please try again.")
    code = {"ec2": "Unavailable", "json": "ServiceUnavailable", "rest-json": "ServiceUnavailable"}.get(protocol, "ServiceUnavailable")
    return error_answer(protocol, 503, code, "Service is unable to handle request.")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, proxy: "FaultProxy"):
        self.proxy = proxy
        self.resets: set = set()
        self.resets_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address):
        """A client that drops its own connection is counted, not printed; anything else is printed."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionResetError, BrokenPipeError, TimeoutError)):
            with self.proxy.lock:
                self.proxy.stats.client_drops += 1
            return
        super().handle_error(request, client_address)

    def shutdown_request(self, request):
        with self.resets_lock:
            reset = request in self.resets
            self.resets.discard(request)
        if reset:
            # SO_LINGER 0 is set: close() sends RST; a shutdown() first would send a FIN.
            self.close_request(request)
        else:
            super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 600  # an idle client connection's thread ends after this
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - quiet
        pass

    def _read_body(self) -> bytes:
        """The request body exactly as sent (chunked framing and trailers kept)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raw = bytearray()
            while True:
                line = self.rfile.readline(65537)
                raw += line
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers, then the empty line
                        trailer = self.rfile.readline(65537)
                        raw += trailer
                        if trailer in (b"\r\n", b"\n", b""):
                            return bytes(raw)
                raw += self.rfile.read(size + 2)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _upstream(self, fresh: bool = False) -> http.client.HTTPConnection:
        connection = getattr(self, "_connection", None)
        if connection is None or fresh:
            if connection is not None:
                connection.close()
            proxy = self.server.proxy
            connection = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=600)
            self._connection = connection
        return connection

    def _forward(self, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
        for attempt in (0, 1):
            connection = self._upstream(fresh=attempt == 1)
            reused = connection.sock is not None
            try:
                connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        connection.putheader(name, value)
                connection.endheaders()
                if body:
                    connection.send(body)
                response = connection.getresponse()
                data = response.read()
                headers = response.getheaders()
                if response.will_close:
                    connection.close()
                return response.status, response.reason, headers, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the emulator closed while idle: sent again once, fresh.
                connection.close()
                if attempt == 1 or not reused:
                    raise
        raise AssertionError("unreachable")

    def _answer(self, status: int, reason: str | None, headers, body: bytes) -> None:
        self.send_response_only(status, reason)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP and name.lower() not in ("transfer-encoding", "content-length"):
                self.send_header(name, value)
        if self.command == "HEAD":
            length = dict((k.lower(), v) for k, v in headers).get("content-length", "0")
            self.send_header("Content-Length", length)
        else:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _reset(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self.server.resets_lock:
            self.server.resets.add(self.connection)

    def _proxy(self) -> None:
        body = self._read_body()
        proxy = self.server.proxy
        path = urllib.parse.urlsplit(self.path).path
        fault = None
        if not path.startswith(CONTROL_PREFIXES):
            service = service_of(self.headers, self.path)
            fault = proxy.draw(service, lambda: operation_of(self.headers, self.path, body, self.command))
            protocol = protocol_of(service, self.headers.get("Content-Type", ""))
        if fault == "throttle":
            status, headers, payload = throttle_answer(protocol)
            self._answer(status, None, headers.items(), payload)
            proxy.note(self, fault, status)
            return
        if fault == "5xx":
            status, headers, payload = server_error_answer(protocol, proxy.random_choice((500, 503)))
            self._answer(status, None, headers.items(), payload)
            proxy.note(self, fault, status)
            return
        try:
            status, reason, headers, payload = self._forward(body)
        except OSError as exc:
            payload = f"fault proxy: the emulator did not answer: {exc}".encode()
            self.close_connection = True
            self._answer(502, "Bad Gateway", [("Content-Type", "text/plain")], payload)
            return
        if fault == "reset":
            self._reset()
            proxy.note(self, "reset", status)
            return
        self._answer(status, reason, headers, payload)
        proxy.note(self, fault or "forwarded", status)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _proxy


class FaultProxy:
    """``rates``: kind -> probability per AWS API request (the kinds are exclusive)."""

    def __init__(self, upstream_url: str, rates: dict[str, float], seed: int | None = None):
        parts = urllib.parse.urlsplit(upstream_url)
        self.upstream_host, self.upstream_port = parts.hostname, parts.port or 80
        unknown = set(rates) - set(KINDS)
        if unknown or sum(rates.values()) > 1:
            raise ValueError(f"rates {rates}: kinds are {KINDS} and their sum at most 1")
        self.rates = dict(rates)
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.enabled = True
        self.phase = "-"
        self.stats = Stats()
        self.server = _Server(self)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="fault-proxy", daemon=True)
        self.trace: list[tuple] | None = None  # set to a list to record every request (debugging)

    def start(self) -> "FaultProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def random_choice(self, options):
        with self.lock:
            return self.random.choice(options)

    def note(self, handler: BaseHTTPRequestHandler, what: str, status: int) -> None:
        if self.trace is not None:
            self.trace.append((time.monotonic(), handler.client_address[1], handler.command, handler.path[:60],
                               handler.headers.get("X-Amz-Target") or handler.headers.get("Content-Type"), what, status))

    def draw(self, service: str, operation) -> str | None:
        """The fault for one AWS API request, if any; counted under the current phase."""
        with self.lock:
            if not self.enabled:
                return None
            phase = self.phase
            self.stats.requests[phase] += 1
            roll = self.random.random()
            fault, edge = None, 0.0
            for kind in KINDS:
                edge += self.rates.get(kind, 0.0)
                if roll < edge:
                    fault = kind
                    break
            if fault is None:
                return None
            self.stats.faults[(phase, fault)] += 1
        self.stats.events.append(Event(phase, fault, service, operation()))
        return fault
