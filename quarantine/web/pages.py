"""Server-rendered pages (Jinja2, autoescaped; no JavaScript needed).

:func:`render` answers a template that extends ``base.html`` in the visitor's
language (:mod:`quarantine.web.i18n`) with the pages' security headers: a strict
Content-Security-Policy (everything from this origin, no inline script, no inline
style but the verification page's hashed copy of ``app.css``),
no referrer to other sites (a verification URL holds the whole certificate) and no caching.
:func:`verification_view` turns a verification :class:`Report` into what the
verdict block shows.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from quarantine.core.model import CHINA_TZ, Certificate
from quarantine.core.reasons import Reason, Severity
from quarantine.core.verify import Report, Verdict
from quarantine.web import i18n

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"


@functools.cache
def inline_css() -> tuple[str, str]:
    """``static/app.css`` and its CSP hash source (``'sha256-…'``).

    The verification page carries the stylesheet inline: on a phone's first scan that
    saves the round trip for ``/static/app.css`` before the verdict can be painted
    (measured in ``bench/bench_web.py``).  The hash admits exactly this text and no
    other inline style.
    """
    css = (STATIC_DIR / "app.css").read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return css, f"'sha256-{digest}'"


def csp() -> str:
    """No inline script, no inline style but the hashed stylesheet, nothing from another
    origin.  ``img-src blob:`` lets the scan page preview a photo; ``media-src`` the camera."""
    return (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
        f"style-src 'self' {inline_css()[1]}; script-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


PAGE_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


@functools.cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("quarantine.web", "templates"),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def switch_url(request: Request, lang: i18n.Lang) -> str:
    """This page's URL (path and query) with ``lang`` set; a POST result links to its path."""
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    if request.method != "GET":
        query = {}
    query["lang"] = lang
    return f"{request.url.path}?{urlencode(query)}"


def render_text(
    template: str, tr: i18n.Translator, request: Request | None = None, **context: Any
) -> str:
    """The page's HTML (for :func:`render` and for tests without a request)."""
    return (
        _env()
        .get_template(template)
        .render(
            tr=tr,
            t=tr.t,
            alt=tr.alt,
            switch=switch_url(request, tr.other) if request is not None else f"?lang={tr.other}",
            path=request.url.path if request is not None else "",
            **context,
        )
    )


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page in the visitor's language, with the pages' security headers."""
    lang, set_cookie = i18n.resolve(request)
    tr = i18n.Translator(lang)
    response = HTMLResponse(
        render_text(template, tr, request, **context),
        status_code=status_code,
        headers={**PAGE_HEADERS, "Content-Security-Policy": csp(), **(headers or {})},
    )
    if set_cookie:
        response.set_cookie(
            i18n.COOKIE, lang, max_age=i18n.COOKIE_MAX_AGE, path="/", samesite="lax"
        )
    return response


# --------------------------------------------------------------------------- verification view


@dataclass(frozen=True)
class Field:
    label: str
    value: str
    code: str = ""


@dataclass(frozen=True)
class RegistryLine:
    """One status the registry imposes (or its absence)."""

    css: str  # ok | bad | info
    text: str
    reason: str = ""
    superseded_by: str = ""


@dataclass(frozen=True)
class VerdictView:
    css: str  # valid | invalid | notcert | unavailable
    icon: str  # valid | invalid | notcert | unavailable (an inline SVG in the template)
    headline: str
    headline_alt: str
    lead: str
    errors: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()
    notes: tuple[Reason, ...] = ()
    host: str = ""
    host_unknown: bool = False
    title: str = ""
    title_alt: str = ""
    number: str = ""
    fields: tuple[Field, ...] = ()
    items: tuple[dict[str, str], ...] = ()
    issuer: tuple[Field, ...] = ()
    registry: tuple[RegistryLine, ...] = ()
    status_as_of: str = ""
    checked_at: str = ""
    codes: tuple[str, ...] = field(default_factory=tuple)


_VERDICT_KEYS: Final = {
    Verdict.VALID: "valid",
    Verdict.INVALID: "invalid",
    Verdict.NOT_A_CERTIFICATE: "notcert",
}
#: Reasons that the registry section states instead of the reasons list.
_REGISTRY_CODES: Final = frozenset(
    {"REVOKED", "SUPERSEDED", "SUSPENDED", "CLOSED", "UNKNOWN_TO_REGISTRY", "STATUS_UNCHECKED"}
)


def china_time(at: datetime) -> str:
    return at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _quantity(q: Decimal) -> str:
    return str(int(q)) if q == q.to_integral_value() else str(q.normalize())


def _region(code: str) -> str:
    from quarantine.reference import region_table

    name = region_table().full_name(code)
    return code if name == code else f"{name}（{code}）"


def _party(label: str, party: Any) -> list[Field]:
    if party is None or not party.name:
        return []
    return [Field(label, party.name)]


def _fields(cert: Certificate, tr: i18n.Translator) -> list[Field]:
    t = tr.t
    out: list[Field] = []
    out += _party(t("consignor"), cert.consignor)
    out += _party(t("consignee"), cert.consignee)
    out += _party(t("producer"), cert.producer)
    if cert.origin:
        out.append(Field(t("origin"), cert.origin))
    if cert.conveyance:
        vehicle = f"{cert.conveyance.type} {cert.conveyance.identifier}".strip()
        out.append(Field(t("vehicle"), vehicle))
    if cert.route:
        stops = [cert.route.origin, *cert.route.via, cert.route.destination]
        route = " → ".join(_region(code) for code in stops if code)
        if cert.route.text:
            route += f"（{cert.route.text}）"
        out.append(Field(t("route"), route))
    valid = f"{cert.valid_from.isoformat()} {t('valid_until')} {cert.valid_to.isoformat()}"
    out.append(Field(t("validity"), valid))
    if cert.category:
        out.append(Field(t("category"), cert.category))
    if cert.project:
        project = " · ".join(
            x for x in (cert.project.name, cert.project.site, cert.project.contractor) if x
        )
        out.append(Field(t("project"), project))
    refs = cert.references.all_numbers()
    if cert.references.original:
        out.append(Field(t("original"), cert.references.original))
        refs = tuple(n for n in refs if n != cert.references.original)
    if refs:
        out.append(Field(t("references"), "、".join(refs)))
    return out


def _registry(report: Report, tr: i18n.Translator) -> list[RegistryLine]:
    t = tr.t
    lines: list[RegistryLine] = []
    for r in report.reasons:
        if r.code == "REVOKED":
            lines.append(RegistryLine("bad", t("reg_revoked"), reason=r.detail))
        elif r.code == "SUPERSEDED":
            # the detail is "<reason> → <new number>" (quarantine.core.verify)
            reason, _, new = r.detail.rpartition(" → ")
            if not reason:
                reason, new = new, ""
            lines.append(RegistryLine("bad", t("reg_superseded"), reason, new))
        elif r.code == "SUSPENDED":
            lines.append(RegistryLine("bad", t("reg_suspended"), reason=r.detail))
        elif r.code == "CLOSED":
            lines.append(RegistryLine("bad", t("reg_closed"), reason=r.detail))
        elif r.code == "UNKNOWN_TO_REGISTRY":
            lines.append(RegistryLine("bad", t("reg_unknown")))
        elif r.code == "STATUS_UNCHECKED":
            lines.append(RegistryLine("info", t("reg_unchecked")))
    if not lines and report.status_source:
        lines.append(RegistryLine("ok", t("reg_ok")))
    return lines


def verification_view(report: Report, tr: i18n.Translator) -> VerdictView:
    """What the verdict block shows for ``report``, in ``tr``'s language."""
    key = _VERDICT_KEYS[report.verdict]
    shown = [r for r in report.reasons if r.code not in _REGISTRY_CODES]
    cert = report.certificate
    common: dict[str, Any] = {
        "css": key,
        "icon": key,
        "headline": tr.t(f"verdict_{key}"),
        "headline_alt": tr.alt(f"verdict_{key}"),
        "lead": tr.t(f"lead_{key}"),
        "errors": tuple(r for r in shown if r.severity is Severity.ERROR),
        "warnings": tuple(
            r for r in shown if r.severity is Severity.WARNING and r.code != "UNKNOWN_HOST"
        ),
        "notes": tuple(r for r in shown if r.severity is Severity.INFO),
        "host": report.host,
        "host_unknown": report.host_known is False,
        "registry": tuple(_registry(report, tr)),
        "status_as_of": china_time(report.status_as_of) if report.status_as_of else "",
        "checked_at": china_time(report.checked_at),
        "codes": report.codes,
    }
    if cert is None:
        return VerdictView(**common)
    return VerdictView(**common, **certificate_block(cert, tr, report.alg, report.kid))


def certificate_block(
    cert: Certificate, tr: i18n.Translator, alg: str = "", kid: str = ""
) -> dict[str, Any]:
    """The certificate part of a verdict block (title, number, fields, goods, issuer)."""
    scope = f"（{tr.t('scope_' + cert.scope.value)}）" if cert.scope else ""
    issuer = [
        Field(tr.t("issuer"), cert.issuing_agency.name or _region(cert.issuing_agency.region)),
    ]
    if cert.delegating_agency:
        issuer.append(
            Field(
                tr.t("delegating"),
                cert.delegating_agency.name or _region(cert.delegating_agency.region),
            )
        )
    if cert.officer.name:
        issuer.append(Field(tr.t("officer"), f"{cert.officer.name} {cert.officer.number}".strip()))
    issuer.append(Field(tr.t("issued_at"), china_time(cert.issued_at)))
    if kid:
        issuer.append(Field(tr.t("key"), f"{alg} {kid}"))
    items = tuple(
        {
            "product": it.product,
            "variety": it.variety,
            "specification": it.specification,
            "quantity": f"{_quantity(it.quantity)} {it.unit}".strip(),
        }
        for it in cert.items
    )
    return {
        "title": tr.pick(cert.kind.title_zh, cert.kind.title_en)
        + (scope if tr.lang == "zh" else ""),
        "title_alt": tr.pick_alt(cert.kind.title_zh, cert.kind.title_en),
        "number": str(cert.number),
        "fields": tuple(_fields(cert, tr)),
        "items": items,
        "issuer": tuple(issuer),
    }


def verification_page(request: Request, report: Report) -> HTMLResponse:
    """The page the QR's URL opens: the verdict at a glance, then what to compare."""
    lang, _ = i18n.resolve(request)
    view = verification_view(report, i18n.Translator(lang))
    return render(request, "verify.html", v=view, inline_css=inline_css()[0])


def render_verification(report: Report, lang: i18n.Lang = "zh") -> str:
    """The verification page's HTML without a request (Chinese unless ``lang``)."""
    tr = i18n.Translator(lang)
    return render_text(
        "verify.html", tr, v=verification_view(report, tr), inline_css=inline_css()[0]
    )
