"""Start and stop the pieces of a loopback stack: the server under uvicorn, tasks (shell).

Shared by ``odart demo`` and ``odart simulate``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Final

import uvicorn
from fastapi import FastAPI

START_POLL_S: Final = 0.05
"""How often start-up checks whether uvicorn is serving: start-up takes a few hundred ms."""


class ServerNotStarted(RuntimeError):
    """uvicorn stopped before it started serving (the port was taken, or the lifespan failed)."""


async def serve(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[Any]]:
    """Serve ``app`` on loopback ``port``; returns once it is accepting requests."""
    # No proxy in front of a loopback stack: never believe X-Forwarded-For.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="server")
    while not server.started:
        if task.done():
            message = f"the server did not start on port {port}"
            raise ServerNotStarted(message)
        await asyncio.sleep(START_POLL_S)
    return server, task


async def shut_down(server: uvicorn.Server, task: asyncio.Task[Any]) -> None:
    """Ask uvicorn to exit and wait for its lifespan to finish."""
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait for it (nothing if ``None``)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
