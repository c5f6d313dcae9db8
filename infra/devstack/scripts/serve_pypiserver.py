"""A pypiserver PyPI index on 127.0.0.1, on a port the kernel picks, for the prober's tests.

    python serve_pypiserver.py PACKAGES_DIR [HTPASSWD]

With HTPASSWD every request (list, download, upload) needs one of its users; without, the
index is open. pypiserver's default is kept: a project it does not hold is redirected to
pypi.org. Prints `listening on 127.0.0.1:PORT` once it accepts connections; stops on SIGTERM
or when its parent closes its standard input.
"""
import signal
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pypiserver


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main(argv):
    if len(argv) not in (2, 3):
        print("usage: python serve_pypiserver.py PACKAGES_DIR [HTPASSWD]", file=sys.stderr)
        return 2
    if len(argv) == 3:
        auth = {"password_file": argv[2], "authenticate": ["download", "list", "update"]}
    else:
        auth = {"password_file": ".", "authenticate": []}
    app = pypiserver.app(roots=[argv[1]], **auth)
    server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    stop = lambda *_: threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=lambda: (sys.stdin.read(), stop()), daemon=True).start()
    print(f"listening on 127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
