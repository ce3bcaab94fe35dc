"""A loopback TCP relay that can cut a client's network on demand, like a Wi-Fi outage (shell).

The edge connects to the relay instead of the broker. :meth:`NetworkCut.cut` drops every relayed
connection at once (no goodbye: the broker publishes the edge's Last Will) and stops listening,
so new connections are refused at once, until :meth:`NetworkCut.restore` listens again on the
same port; the edge's own reconnect loop and outbox do the rest. (A real outage may instead
swallow packets, so that connecting takes the client's whole timeout; refusing keeps a sped-up
run from stretching the edge's wall-clock timeouts into minutes of simulated time.)
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

__all__ = ["NetworkCut"]

CHUNK_BYTES: Final = 65536
"""Read size per relay step: larger than any MQTT packet the project sends."""


class NetworkCut:
    """Relays ``127.0.0.1:<port>`` to ``target_host:target_port`` until cut.

    Args:
        target_host: the real server (the broker).
        target_port: its port.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.online = True
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> NetworkCut:
        """Listen on a free loopback port (the same port again after a cut)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.online = True
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.online:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.target), timeout=5.0
            )
        except (OSError, TimeoutError):
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._tasks.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            self._tasks.difference_update(pipes)
            for end in (writer, up_writer):
                self._writers.discard(end)
                end.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(CHUNK_BYTES):
                writer.write(data)
                await writer.drain()

    def cut(self) -> None:
        """Drop every relayed connection now and refuse new ones."""
        self.online = False
        self.cuts += 1
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()

    async def restore(self) -> None:
        """Accept connections again, on the same port."""
        if self._server is None:
            await self.start()

    async def aclose(self) -> None:
        """Stop listening and drop everything."""
        self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
