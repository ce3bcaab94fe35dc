"""Error answers: a page for people, JSON for the API, never a traceback (shell)."""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from server.web.templating import render

_TITLES = {400: "Not understood", 403: "Not allowed", 404: "Not found", 405: "Not allowed"}


def wants_page(request: Request) -> bool:
    """Whether a person's browser asked for a page (not the API, not a script)."""
    return (
        request.method == "GET"
        and not request.url.path.startswith("/api/")
        and "text/html" in request.headers.get("accept", "")
    )


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """A page saying what went wrong for browsers; FastAPI's JSON for everything else."""
    assert isinstance(exc, HTTPException)
    if not wants_page(request):
        return await http_exception_handler(request, exc)
    title = _TITLES.get(exc.status_code, "Something went wrong")
    detail = exc.detail if isinstance(exc.detail, str) else title
    return render(request, "error.html", {"title": title, "detail": detail}, status=exc.status_code)


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    """422 naming each bad field and why, without echoing what was sent.

    FastAPI's own answer repeats the input, which fails to render (a 500) when the input is a
    number JSON cannot write (``1e400`` parses as infinity) and could repeat a password.
    """
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)
