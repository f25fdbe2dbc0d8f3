"""``quarantine serve``: the HTTP service (FastAPI on uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from quarantine.cli.common import guarded


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="监听地址 / address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=1, max=65535, help="端口 / port")] = 8000,
        workers: Annotated[
            int, typer.Option(min=1, max=64, help="工作进程数 / worker processes")
        ] = 1,
    ) -> None:
        """启动核验服务 / Run the verification service (OpenAPI at /docs)."""
        import uvicorn

        from quarantine.settings import Settings
        from quarantine.web import create_app

        settings = guarded(Settings.from_env)
        if workers == 1:
            application = guarded(lambda: create_app(settings))
            uvicorn.run(application, host=host, port=port, log_level="info", access_log=False)
        else:
            guarded(lambda: create_app(settings))  # fail fast on bad settings
            uvicorn.run(
                "quarantine.web.asgi:build",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                access_log=False,
            )
