"""A pypiserver PyPI index on 127.0.0.1, on a port the kernel picks, for the prober's tests.

    python serve_pypiserver.py [--htpasswd FILE] [--no-fallback] PACKAGES_DIR

With --htpasswd every request (list, download, upload) needs one of its users; without, the
index is open. A project it does not hold is redirected to pypi.org (pypiserver's default),
or with --no-fallback answered 404 (an index that holds only its own projects). Prints `listening on 127.0.0.1:PORT` once it accepts connections; stops on SIGTERM
or when its parent closes its standard input.
"""
import argparse
import signal
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pypiserver


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main(argv):
    parser = argparse.ArgumentParser(description="pypiserver on 127.0.0.1, on a free port")
    parser.add_argument("packages")
    parser.add_argument("--htpasswd")
    parser.add_argument("--no-fallback", action="store_true")
    args = parser.parse_args(argv[1:])
    if args.htpasswd:
        auth = {"password_file": args.htpasswd, "authenticate": ["download", "list", "update"]}
    else:
        auth = {"password_file": ".", "authenticate": []}
    app = pypiserver.app(roots=[args.packages], disable_fallback=args.no_fallback, **auth)
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    stop = lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=lambda: (sys.stdin.read(), stop()), daemon=True).start()
    print(f"listening on 127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
