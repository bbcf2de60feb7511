"""The review app's request checks, as one middleware in front of every route.

- Host: a request whose Host header names anything but the bound address or a loopback name
  gets 403 (a DNS-rebinding page cannot reach the app under its own name).
- Token (only when bound to a non-loopback address, which needs --allow-remote): every request
  carries the token, as the `X-Review-Token` header, `Authorization: Bearer`, or the cookie set
  when a page is opened once as `/?token=...`; otherwise 403.
- POST: the Origin header (or, without one, the Referer) must be this app's own origin, and the
  `X-CSRF-Token` header must be the token of the browser's session (an HMAC of its session
  cookie with a secret drawn when the app starts); otherwise 403.
- No CORS headers are ever sent; every response forbids framing, sniffing and caching.
"""

from __future__ import annotations

import hmac
import secrets
import socket
from dataclasses import dataclass, field
from hashlib import sha256
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

SESSION_COOKIE = "ladder_review_session"
TOKEN_COOKIE = "ladder_review_token"
CSRF_HEADER = "x-csrf-token"
TOKEN_HEADER = "x-review-token"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})
SAFE_METHODS = frozenset({"GET", "HEAD"})
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def allowed_host_names(bound: str) -> frozenset[str]:
    """The names a Host header may carry: the bound address and the loopback names; for a
    wildcard bind (0.0.0.0, ::) also this machine's own names and addresses."""
    names = set(LOOPBACK_NAMES) | {bound.lower()}
    if bound in WILDCARDS:
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn().lower()}
        try:
            names |= set(socket.gethostbyname_ex(hostname)[2])
        except OSError:
            pass  # a name that does not resolve: reachable by the names above only
    return frozenset(n for n in names if n)


def host_name(host_header: str) -> str:
    """The name part of a Host header: `[::1]:8000` -> `::1`, `localhost:80` -> `localhost`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@dataclass
class Guard:
    """The checks above, for one running app."""

    bound_host: str
    token: str | None = None  # required on every request when set (remote binds)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    hosts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        self.hosts = allowed_host_names(self.bound_host)

    def csrf_token(self, session: str) -> str:
        return hmac.new(self.secret, session.encode(), sha256).hexdigest()

    def _carries_token(self, request: Request) -> bool:
        assert self.token is not None
        auth = request.headers.get("authorization", "")
        given = [request.headers.get(TOKEN_HEADER), request.cookies.get(TOKEN_COOKIE),
                 auth[7:] if auth.lower().startswith("bearer ") else None]
        return any(g is not None and hmac.compare_digest(g.encode(), self.token.encode()) for g in given)

    def _same_origin(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if origin is None:
            referer = request.headers.get("referer")
            if not referer:
                return False
            parts = urlsplit(referer)
            origin = f"{parts.scheme}://{parts.netloc}"
        return origin.lower() == f"{request.url.scheme}://{request.headers.get('host', '')}".lower()

    def refusal(self, request: Request) -> Response | None:
        """A 403 (or the token redirect) for a request that must not reach a route; None to let it through."""
        if host_name(request.headers.get("host", "")) not in self.hosts:
            return PlainTextResponse("403: Host header is not this app's address", status_code=403)
        if self.token is not None and not self._carries_token(request):
            given = request.query_params.get("token")
            if request.method == "GET" and given and hmac.compare_digest(given.encode(), self.token.encode()):
                # the token URL: keep the token in a cookie and drop it from the address bar
                response = RedirectResponse(request.url.path, status_code=303)
                response.set_cookie(TOKEN_COOKIE, given, httponly=True, samesite="strict")
                return response
            return PlainTextResponse("403: this app needs its token (open the URL it printed)", status_code=403)
        if request.method not in SAFE_METHODS:
            if not self._same_origin(request):
                return PlainTextResponse("403: cross-origin request", status_code=403)
            session = request.cookies.get(SESSION_COOKIE)
            sent = request.headers.get(CSRF_HEADER, "")
            if not session or not hmac.compare_digest(sent.encode(), self.csrf_token(session).encode()):
                return PlainTextResponse("403: missing or wrong CSRF token", status_code=403)
        return None

    async def middleware(self, request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
        response = self.refusal(request)
        if response is None:
            new_session = request.cookies.get(SESSION_COOKIE) is None
            # a page's CSRF token is drawn from the session, so a first visit gets its session now
            request.state.session = request.cookies.get(SESSION_COOKIE) or secrets.token_urlsafe(24)
            response = await call_next(request)
            if new_session:
                response.set_cookie(SESSION_COOKIE, request.state.session, httponly=True, samesite="strict")
        for name, value in HEADERS.items():
            response.headers[name] = value
        return response
