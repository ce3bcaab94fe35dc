"""FastAPI dependencies: the lifespan's objects, reached through the app state (shell)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from server.live import LiveHub
from server.store.db import Store


def store_of(request: Request) -> Store:
    """The app's store."""
    store: Store = request.app.state.store
    return store


def hub_of(request: Request) -> LiveHub:
    """The app's live hub."""
    hub: LiveHub = request.app.state.hub
    return hub


StoreDep = Annotated[Store, Depends(store_of)]
