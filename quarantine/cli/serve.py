"""``quarantine serve``: the HTTP service (FastAPI on uvicorn)."""

from __future__ import annotations

import os
import socket
from typing import Annotated, Any

import typer

from quarantine.cli.common import guarded
from quarantine.errors import EnvironmentProblem


def tcp_listener(sock: socket.socket) -> socket.socket:
    """The same listening descriptor as a socket whose ``proto`` is ``IPPROTO_TCP``.

    uvicorn binds its multi-worker socket with ``proto`` 0; accepted sockets inherit
    it and asyncio only sets ``TCP_NODELAY`` for ``IPPROTO_TCP``, so Nagle's
    algorithm meets the client's delayed ACK and every keep-alive request after the
    first waits about 40 ms on Linux (uvicorn issue #3149).
    """
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return sock
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    return tcp


def reuse_port_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (not yet listening)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def spread_workers(config: Any, host: str, port: int) -> Any:
    """uvicorn's worker supervisor with one ``SO_REUSEPORT`` listening socket per worker.

    With one shared listening socket, every worker is woken for a new connection and
    the first one accepts all that are waiting: long-lived keep-alive connections (a
    reverse proxy's, a load generator's) then all land on one worker while the others
    idle — measured: one of two workers at 100% CPU, the other at 0%, half the
    throughput.  With a socket per worker the kernel spreads connections over them.  The
    address is first bound without ``SO_REUSEPORT``, so that a port already served is
    refused instead of shared.  Where ``SO_REUSEPORT`` does not exist, the workers share
    one socket as uvicorn does.
    """
    from uvicorn.supervisors import Multiprocess

    if not hasattr(socket, "SO_REUSEPORT"):
        return Multiprocess(config, sockets=[tcp_listener(config.bind_socket())])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise EnvironmentProblem(
                "ADDRESS_IN_USE",
                f"无法监听 {host}:{port}（{exc.strerror}）",
                f"cannot listen on {host}:{port}: {exc.strerror}",
            ) from None

    class Spread(Multiprocess):
        @property
        def sockets(self) -> list[socket.socket]:
            return [reuse_port_listener(host, port)]  # a new socket for each new worker

        @sockets.setter
        def sockets(self, _: list[socket.socket]) -> None:
            pass

    return Spread(config, sockets=[])


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="监听地址 / address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="端口 / port")] = 8000,
        workers: Annotated[
            int, typer.Option(min=1, max=64, help="工作进程数 / worker processes")
        ] = 1,
        access_log: Annotated[
            bool, typer.Option(help="JSON 访问日志 / JSON access log on stderr")
        ] = True,
    ) -> None:
        """启动核验服务 / Run the verification service (OpenAPI at /docs)."""
        from uvicorn import Config, Server

        from quarantine.settings import Settings
        from quarantine.web import create_app

        settings = guarded(Settings.from_env)
        guarded(lambda: create_app(settings))  # fail fast: settings, trust list, migrations
        # Read by every worker's app factory (workers are separate processes).
        os.environ["QUARANTINE_ACCESS_LOG"] = "1" if access_log else "0"
        config = Config(
            "quarantine.web.asgi:build",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=False,
        )
        if workers == 1:
            Server(config).run(sockets=[tcp_listener(config.bind_socket())])
        else:
            guarded(lambda: spread_workers(config, host, port)).run()
