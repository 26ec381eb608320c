"""The emulator's request journal (emulator/journal.py): one line per request with what tells an
SDK's retry from a new request (invocation id, attempt), and the request untouched for moto."""

from __future__ import annotations

import io
import urllib.parse

import pytest

from emulator import journal


def call(app, *, body: bytes = b"", **environ) -> tuple[list[bytes], str]:
    out = io.StringIO()
    base = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "REMOTE_PORT": "40001",
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    answer = journal.wrap(app, out)({**base, **environ}, lambda status, headers, exc_info=None: None)
    return answer, out.getvalue()


def echo(environ, start_response):
    """Answers the body it reads, as moto reads it."""
    data = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("400 Bad Request", [("Content-Length", str(len(data)))])
    return [data]


def test_a_query_protocol_request_is_journalled_with_its_action_attempt_and_status_and_moto_still_reads_its_body():
    body = urllib.parse.urlencode({"Action": "DeleteVpcEndpoints", "VpcEndpointId.1": "vpce-1"}).encode()
    answer, text = call(echo, body=body, CONTENT_TYPE="application/x-www-form-urlencoded; charset=utf-8",
                        HTTP_AUTHORIZATION="AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEKEY/20261124/us-east-1/ec2/aws4_request, ...",
                        HTTP_AMZ_SDK_INVOCATION_ID="inv-1", HTTP_AMZ_SDK_REQUEST="attempt=2; max=25",
                        HTTP_USER_AGENT="APN/1.0 HashiCorp/1.0 Terraform/1.11.4 terraform-provider-aws/5.100.0 "
                                        "aws-sdk-go-v2/1.36.3 ua/2.1")
    assert answer == [body]
    fields = text.split()
    assert fields[1:] == ["request", fields[2], "port=40001", "DeleteVpcEndpoints", "key=ASIAEXAMPLEKEY", "invocation=inv-1",
                          "attempt=2", "status=400", fields[-3], f"bytes={len(body)}", "sdk=aws-sdk-go-v2/1.36.3"]
    assert text.count("\n") == 1


def test_a_json_protocol_request_is_named_by_its_target_and_a_rest_one_by_its_method_and_path():
    _, text = call(echo, body=b"{}", HTTP_X_AMZ_TARGET="SageMaker.CreateDomain")
    assert " SageMaker.CreateDomain key=- invocation=- attempt=- status=400 " in text and text.endswith(" sdk=-\n")
    _, text = call(echo, REQUEST_METHOD="GET", PATH_INFO="/bucket/key")
    assert " GET /bucket/key " in text


def test_a_journal_line_reads_back_as_the_request_it_records():
    """What benchmarks/lost_answers.py and server_errors read: the action whole, a REST one's path
    included, the attempt and the status."""
    _, text = call(echo, REQUEST_METHOD="GET", PATH_INFO="/bucket/key", HTTP_AMZ_SDK_REQUEST="attempt=3; max=25")
    assert journal.entry(text) == journal.Entry("GET /bucket/key", "3", "400")
    _, text = call(echo, body=b"{}", HTTP_X_AMZ_TARGET="SageMaker.CreateDomain")
    assert journal.entry(text) == journal.Entry("SageMaker.CreateDomain", "-", "400")
    assert journal.entry("Exception while serving /") is None


def test_a_request_whose_handler_raised_is_journalled_as_a_500_and_the_error_goes_on():
    def broken(environ, start_response):
        raise RuntimeError("dictionary changed size during iteration")

    out = io.StringIO()
    with pytest.raises(RuntimeError):
        journal.wrap(broken, out)({"REQUEST_METHOD": "POST", "PATH_INFO": "/", "HTTP_X_AMZ_TARGET": "X.Y",
                                   "wsgi.input": io.BytesIO()}, lambda *args: None)
    assert " X.Y " in out.getvalue() and " status=500 " in out.getvalue()


def test_the_requests_an_emulator_failed_itself_are_counted_from_its_log(tmp_path):
    """What tests/conftest.py fails the session on, and benchmarks/faults.py reports."""
    def broken(environ, start_response):
        raise RuntimeError("dictionary changed size during iteration")

    def internal_error(environ, start_response):
        start_response("500 Internal Server Error", [])
        return [b"<InternalFailure/>"]

    out = io.StringIO()
    call_ok = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "wsgi.input": io.BytesIO()}
    journal.wrap(echo, out)({**call_ok, "HTTP_X_AMZ_TARGET": "SageMaker.CreateDomain"}, lambda *args: None)
    journal.wrap(internal_error, out)({**call_ok, "HTTP_X_AMZ_TARGET": "SageMaker.DescribeDomain"}, lambda *args: None)
    with pytest.raises(RuntimeError):
        journal.wrap(broken, out)({**call_ok, "HTTP_X_AMZ_TARGET": "SageMaker.DeleteDomain"}, lambda *args: None)
    waitress = ("Exception while serving /\nTraceback (most recent call last):\n  File \"x.py\", line 1, in f\n"
                "RuntimeError: dictionary changed size during iteration\n")
    log = tmp_path / "emulator.log"
    log.write_text(out.getvalue() + waitress)
    assert journal.server_errors(log) == {"SageMaker.DescribeDomain answered 500": 1, "SageMaker.DeleteDomain answered 500": 1,
                                          "traceback: RuntimeError: dictionary changed size during iteration": 1}
    log.write_text(out.getvalue().splitlines()[0] + "\n")
    assert journal.server_errors(log) == {} and journal.server_errors(tmp_path / "none.log") == {}


@pytest.mark.parametrize("split_writes, sends", [(True, 2), (False, 1)])
def test_the_emulator_sends_an_answer_in_one_write_and_waitress_default_in_two(monkeypatch, split_writes, sends):
    """emulator/server.py's SEND_BYTES: the header block and the body of an answer go to the socket
    in one send (the AWS provider's SDK loses answers whose body comes in a later segment);
    waitress's default, the benchmark's baseline, sends them apart."""
    import socket
    import threading

    from waitress.channel import HTTPChannel

    from emulator.server import HOST, free_port, make_server

    sent: list[bytes] = []
    original = HTTPChannel.send

    def recorded(self, data, *args, **kwargs):
        sent.append(bytes(data))
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(HTTPChannel, "send", recorded)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", "9")])
        return [b"<answer/>"]

    port = free_port()
    server = make_server(app, port, split_writes)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with socket.create_connection((HOST, port), timeout=5) as client:
            client.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            received = b""
            while not received.endswith(b"<answer/>"):
                received += client.recv(4096)
    finally:
        server.close()
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(sent) == sends and b"".join(sent) == received
