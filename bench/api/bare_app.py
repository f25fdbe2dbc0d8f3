"""The baseline of the API benchmark: a bare FastAPI JSON endpoint.

Served exactly like the service (uvicorn, the same worker count, access log off):

    uvicorn --app-dir bench/api --factory bare_app:build --workers 2

``POST /api/v1/verify`` takes the same JSON body as the real endpoint (a ``text``
field validated by pydantic) and answers a small JSON object without doing any work.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field


class Body(BaseModel):
    text: str = Field(min_length=1, max_length=8000)


def build() -> FastAPI:
    app = FastAPI(title="bare baseline")

    @app.get("/readyz")
    def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/api/v1/verify")
    def verify(body: Body) -> dict[str, Any]:
        return {"verdict": "VALID", "length": len(body.text)}

    return app
