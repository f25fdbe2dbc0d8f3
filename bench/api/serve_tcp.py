"""Run an ASGI app factory under uvicorn with N workers whose connections get TCP_NODELAY.

    python bench/api/serve_tcp.py MODULE:FACTORY --port P --workers N [--app-dir DIR]

uvicorn's multi-worker path binds the listening socket with ``proto`` 0; accepted
sockets inherit it and asyncio only sets ``TCP_NODELAY`` when ``proto`` is
``IPPROTO_TCP``, so Nagle's algorithm meets the client's delayed ACK and every
keep-alive request after the first waits about 40 ms on Linux (uvicorn issue #3149).
This launcher does what ``uvicorn.run(..., workers=N)`` does, with the listening
descriptor re-wrapped as an ``IPPROTO_TCP`` socket; with several workers, each gets its
own ``SO_REUSEPORT`` socket (``quarantine.cli.serve.spread_workers``), as
``quarantine serve --workers N`` does.  The benchmark serves the bare baseline and the
service through it, the same way.
"""

from __future__ import annotations

import argparse
import socket
import sys


def tcp_listener(sock: socket.socket) -> socket.socket:
    """The same listening descriptor as a socket whose ``proto`` is ``IPPROTO_TCP``."""
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--app-dir", default="")
    args = parser.parse_args()
    if args.app_dir:
        sys.path.insert(0, args.app_dir)

    from uvicorn import Config, Server

    config = Config(
        args.app,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        access_log=False,
    )
    if args.workers == 1:
        Server(config).run(sockets=[tcp_listener(config.bind_socket())])
    else:
        # As ``quarantine serve --workers N``: one SO_REUSEPORT socket per worker, so
        # that wrk's keep-alive connections are spread over the workers.
        from quarantine.cli.serve import spread_workers

        spread_workers(config, args.host, args.port).run()


if __name__ == "__main__":
    main()
