"""The cookies the pages set: names and flags decided in one place (docs/reporters.md, "Cookies and CSRF").

HttpOnly and SameSite=Strict always; over https also Secure with the `__Host-`/`__Secure-` prefix,
which browsers refuse over plain http (there the plain name is used, and only it is read).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Request, Response


def is_https(request: Request) -> bool:
    """Whether the browser used https (for a trusted proxy, the scheme it was reached with)."""
    return request.url.scheme == "https"


def name(request: Request, base: str, *, path: str = "/") -> str:
    """The cookie's name on this scheme: `__Host-ss_staff`, `__Secure-ss_reporter`, or plain over http."""
    if not is_https(request):
        return base
    return ("__Host-" if path == "/" else "__Secure-") + base


def read(request: Request, base: str, *, path: str = "/") -> str | None:
    """The cookie's value, or None. Over https an unprefixed cookie is ignored: anyone could plant it."""
    return request.cookies.get(name(request, base, path=path)) or None


def jar(request: Request) -> dict[str, str]:
    """Every site-wide cookie by its base name, as `read` would see it (prefixed ones only, over https)."""
    if not is_https(request):
        return {k: v for k, v in request.cookies.items() if not k.startswith(("__Host-", "__Secure-"))}
    return {k.removeprefix("__Host-"): v for k, v in request.cookies.items() if k.startswith("__Host-")}


def put(
    response: Response, request: Request, base: str, value: str, *, path: str = "/",
    max_age: int | None = None, expires: datetime | None = None,
) -> None:
    """Set the cookie; without `max_age` or `expires` it lasts until the browser is closed."""
    response.set_cookie(
        name(request, base, path=path), value, max_age=max_age, expires=expires, path=path,
        secure=is_https(request), httponly=True, samesite="strict",
    )


def drop(response: Response, request: Request, base: str, *, path: str = "/") -> None:
    response.delete_cookie(
        name(request, base, path=path), path=path, secure=is_https(request), httponly=True, samesite="strict"
    )
