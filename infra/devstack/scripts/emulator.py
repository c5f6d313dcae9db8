"""Start moto's AWS emulator (DynamoDB, Secrets Manager, ...) on 127.0.0.1.

Prints the port it listens on as the first line of stdout, then serves until it gets
SIGINT/SIGTERM or, with --exit-on-stdin-eof, until its standard input is closed (so an
emulator started by a test dies with the test process, whatever way that ends).

    python emulator.py [--port N] [--exit-on-stdin-eof]

--port 0 (the default) lets the kernel pick a free port.
"""

import argparse
import signal
import sys
import threading

from moto.server import ThreadedMotoServer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
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
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
