"""Start moto's AWS emulator (DynamoDB, Secrets Manager, ...) on 127.0.0.1.

Prints the port it listens on as the first line of stdout, then serves until it gets
SIGINT/SIGTERM or, with --exit-on-stdin-eof, until its standard input is closed (so an
emulator started by a test dies with the test process, whatever way that ends).

    python emulator.py [--port N] [--exit-on-stdin-eof]

--port 0 (the default) lets the kernel pick a free port.

DynamoDB requests are handled one at a time per table (others concurrently), so each call on
a table, a transaction included, is atomic as on AWS: moto's own handlers are not safe to run
concurrently on one table (a conditional write checks, then writes; a cancelled transaction
restores the table as it was when it began, undoing what other requests wrote meanwhile).
"""

import argparse
import collections
import io
import json
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


def tables_of(environ, body):
    """The DynamoDB tables a request touches (none for other services)."""
    if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        return []
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return []
    if not isinstance(request, dict):
        return []
    names = set()
    if isinstance(request.get("TableName"), str):
        names.add(request["TableName"])
    for item in request.get("TransactItems") or []:
        for op in item.values() if isinstance(item, dict) else []:
            if isinstance(op, dict) and isinstance(op.get("TableName"), str):
                names.add(op["TableName"])
    names.update(k for k in (request.get("RequestItems") or {}) if isinstance(k, str))
    return sorted(names)


class OneAtATimePerTable:
    """A WSGI app that hands `app` one request at a time per DynamoDB table, once its
    body has arrived."""

    def __init__(self, app):
        self.app = app
        self.guard = threading.Lock()
        self.locks = collections.defaultdict(threading.Lock)

    def __call__(self, environ, start_response):
        # Read the body first, so a slow or stalled client never holds the others up.
        length = environ.get("CONTENT_LENGTH") or ""
        stream = environ["wsgi.input"]
        if length.isdigit():
            body = stream.read(int(length))
        elif environ.get("wsgi.input_terminated"):  # chunked: read to its end
            body = stream.read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        with self.guard:
            locks = [self.locks[name] for name in tables_of(environ, body)]
        # Taken in name order, so two requests on the same tables never wait on each other.
        for lock in locks:
            lock.acquire()
        try:
            return list(self.app(environ, start_response))
        finally:
            for lock in reversed(locks):
                lock.release()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()

    app = OneAtATimePerTable(DomainDispatcherApplication(create_backend_app))
    server = make_server(
        "127.0.0.1", args.port, app, threaded=True, request_handler=MotoRequestHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    print(port, flush=True)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.exit_on_stdin_eof:
        def watch_stdin() -> None:
            sys.stdin.read()
            stop.set()

        threading.Thread(target=watch_stdin, daemon=True).start()
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
