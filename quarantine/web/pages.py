"""Server-rendered pages (Jinja2, autoescaped; no JavaScript needed)."""

from __future__ import annotations

import functools
from typing import Any

import jinja2

from quarantine.core.document import to_document
from quarantine.core.model import CHINA_TZ
from quarantine.core.verify import Report


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("quarantine.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.ChainableUndefined,
    )


_VERDICT = {
    "VALID": ("valid", "✔ 证书真实有效", "Genuine and valid"),
    "INVALID": ("invalid", "✘ 证书无效", "Not valid"),
    "NOT_A_CERTIFICATE": ("unknown", "? 不是检疫证书", "Not a quarantine certificate"),
}


def render_verification(report: Report) -> str:
    css, zh, en = _VERDICT[report.verdict.value]
    cert: dict[str, Any] | None = to_document(report.certificate) if report.certificate else None
    title = (
        f"{report.certificate.kind.title_zh} / {report.certificate.kind.title_en}"
        if report.certificate
        else ""
    )
    return (
        _env()
        .get_template("verify.html")
        .render(
            css=css,
            verdict_zh=zh,
            verdict_en=en,
            title=title,
            cert=cert,
            report=report,
            checked_at=report.checked_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        )
    )
