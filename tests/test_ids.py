"""Ids and usernames are checked whole: a trailing newline never passes (log injection)."""

from __future__ import annotations

import pytest

from firmware_bridge.wire import ID_PATTERN
from server.auth.models import AccountError, Role, User
from server.config import settings_from_mapping
from server.errors import ConfigError


def test_ids_pattern_refuses_a_trailing_newline_when_matched_whole() -> None:
    assert ID_PATTERN.fullmatch("pi-1")
    assert not ID_PATTERN.fullmatch("pi-1\n")


def test_ids_a_username_with_a_newline_is_refused() -> None:
    with pytest.raises(AccountError):
        User(1, "ann\n", Role.STAFF)


def test_ids_a_site_id_with_a_newline_stops_server_start_up() -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from_mapping({"sites": [{"id": "hostel-1\n", "name": "Hostel"}]})
    assert raised.value.key.startswith("sites.0")
