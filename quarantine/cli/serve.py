"""``quarantine serve``: the HTTP service (FastAPI on uvicorn)."""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer

from quarantine.cli.common import guarded


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
        from uvicorn.supervisors import Multiprocess

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
        sock = tcp_listener(config.bind_socket())
        if workers == 1:
            Server(config).run(sockets=[sock])
        else:
            Multiprocess(config, sockets=[sock]).run()
