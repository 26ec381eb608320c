"""Serve moto on 127.0.0.1 with a production WSGI server (waitress).

Run as a process: ``python -m emulator.server --port 0 --ready-file PATH`` writes
``{"pid": ..., "port": ...}`` to PATH once it accepts connections.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from pathlib import Path

HOST = "127.0.0.1"


def create_app():
    # Managed policies must exist for attachments such as AmazonSageMakerFullAccess.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from . import control
    from .extensions import install

    install()
    control.install()
    return control.wrap(DomainDispatcherApplication(create_backend_app))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the AWS emulator on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args()
    from waitress.server import create_server

    app = create_app()
    port = args.port or free_port()
    server = create_server(app, host=HOST, port=port, threads=8, channel_timeout=300, ident="emulator")
    tmp = args.ready_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "port": port, "url": f"http://{HOST}:{port}"}))
    tmp.replace(args.ready_file)
    server.run()


if __name__ == "__main__":
    main()
