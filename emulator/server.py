"""Serve moto on 127.0.0.1 with a production WSGI server (waitress).

Run as a process: ``python -m emulator.server --port 0 --ready-file PATH`` writes
``{"pid": ..., "port": ...}`` to PATH once it accepts connections.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import warnings
from pathlib import Path

HOST = "127.0.0.1"
# waitress sends each write of a response as it comes (its default, send_bytes=1): the header block,
# then the body, in two TCP segments. The AWS SDK for Go v2 (the AWS provider's) then loses a
# fraction of answers on loopback: it closes the connection once the headers are in, before it
# reads the body, and sends the request again, which EC2, IAM and the others carried out the first
# time (docs/decisions.md, "When AWS carried out a create whose answer was lost"; the same client
# race against AWS is aws-sdk-go-v2 issues #1825 and #2737). A captured instance: DescribeVpcs,
# headers at +5.6 ms, the client's FIN 0.25 ms later, the body at +14 ms, then RST. Sent as one
# segment, the whole answer is in the client's buffer when it parses the headers, so closing the
# connection then loses nothing. benchmarks/lost_answers.py counts requests sent again either way.
SEND_BYTES = 65536
SPLIT_WRITES_VARIABLE = "STUDIO_EMR_EMULATOR_SPLIT_WRITES"


def create_app():
    # Managed policies must exist for attachments such as AmazonSageMakerFullAccess.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from . import control, journal
    from .extensions import install

    install()
    control.install()
    return journal.wrap(control.wrap(DomainDispatcherApplication(create_backend_app)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def make_server(app, port: int, split_writes: bool = False):
    """waitress on 127.0.0.1:``port`` with eight request threads, answering each response in one
    write unless ``split_writes`` (see SEND_BYTES)."""
    from waitress.server import create_server

    with warnings.catch_warnings():  # "send_bytes will be removed in a future release" (pinned below 4)
        warnings.simplefilter("ignore", DeprecationWarning)
        return create_server(app, host=HOST, port=port, threads=8, channel_timeout=300, ident="emulator",
                             send_bytes=1 if split_writes else SEND_BYTES)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the AWS emulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--split-writes", action="store_true", default=os.environ.get(SPLIT_WRITES_VARIABLE) == "1",
                        help="send a response's header block and body as they are written (waitress's default); "
                             f"for benchmarks/lost_answers.py's baseline, which sets {SPLIT_WRITES_VARIABLE}=1")
    args = parser.parse_args()
    app = create_app()
    port = args.port or free_port()
    server = make_server(app, port, args.split_writes)
    tmp = args.ready_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "port": port, "url": f"http://{HOST}:{port}"}))
    tmp.replace(args.ready_file)
    server.run()


if __name__ == "__main__":
    main()
