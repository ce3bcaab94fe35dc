"""Consent at the edge: which residents the edge may monitor, from the server's snapshot (pure).

The server publishes a retained ``consent`` command whose ``args`` map each resident the edge
serves to ``active``, ``withdrawn``, ``paused`` or ``erased`` (docs/wire.md). Only an explicit
``active`` monitors; anything else, including a value this edge does not know, stops
monitoring. A resident the snapshot leaves out takes the edge's configured default. Applying
the same snapshot twice (the broker redelivers the retained copy after every reconnect)
changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from firmware_bridge.wire import TextValue


class ConsentState(StrEnum):
    """A resident's consent to monitoring, as the server states it."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    PAUSED = "paused"
    """Monitoring is on hold (a review date passed, or the edge waits for the server's word)."""
    ERASED = "erased"
    UNKNOWN = "unknown"
    """The snapshot held a value this edge does not understand: treated as not consented."""

    @property
    def monitors(self) -> bool:
        """Only explicit, active consent allows monitoring."""
        return self is ConsentState.ACTIVE


def read_state(value: TextValue) -> ConsentState:
    """One snapshot value as a state; anything unexpected is :attr:`ConsentState.UNKNOWN`."""
    if isinstance(value, str) and value in ConsentState._value2member_map_:
        return ConsentState(value)
    return ConsentState.UNKNOWN


@dataclass(frozen=True, slots=True)
class Change:
    """A resident whose consent changed, and whether the edge now monitors them."""

    participant: str
    before: ConsentState
    after: ConsentState

    @property
    def starts(self) -> bool:
        """Monitoring begins."""
        return self.after.monitors and not self.before.monitors

    @property
    def stops(self) -> bool:
        """Monitoring ends."""
        return self.before.monitors and not self.after.monitors


@dataclass(frozen=True, slots=True)
class ConsentBook:
    """The consent state of every resident this edge serves.

    Attributes:
        states: participant -> consent state, for exactly the edge's residents.
        default: the state of a resident no snapshot has named.
    """

    states: Mapping[str, ConsentState]
    default: ConsentState

    @classmethod
    def initial(cls, participants: Iterable[str], default: ConsentState) -> ConsentBook:
        """Every resident at ``default``, before any snapshot has arrived."""
        return cls({participant: default for participant in participants}, default)

    def monitors(self, participant: str) -> bool:
        """Whether ``participant`` may be monitored now."""
        return self.states.get(participant, ConsentState.UNKNOWN).monitors

    def apply(self, snapshot: Mapping[str, TextValue]) -> tuple[ConsentBook, tuple[Change, ...]]:
        """The book after a complete ``snapshot``, and the residents whose state changed.

        Residents the snapshot does not name take the default; names this edge does not serve
        are ignored (the shell may count them).
        """
        after = {
            participant: read_state(snapshot[participant])
            if participant in snapshot
            else self.default
            for participant in self.states
        }
        changes = tuple(
            Change(participant, before, after[participant])
            for participant, before in self.states.items()
            if after[participant] is not before
        )
        return ConsentBook(after, self.default), changes

    def joined(self, participant: str, snapshot: Mapping[str, TextValue] | None) -> ConsentBook:
        """The book with ``participant`` added (the server listed a device of theirs).

        They take the state the last ``snapshot`` gave them (it names every resident of the
        site, so it usually came first), or the default when it did not name them. Someone
        already in the book keeps their state.
        """
        if participant in self.states:
            return self
        if snapshot is not None and participant in snapshot:
            state = read_state(snapshot[participant])
        else:
            state = self.default
        return ConsentBook({**self.states, participant: state}, self.default)

    def left(self, participant: str) -> ConsentBook:
        """The book without ``participant`` (the edge runs no device of theirs any more)."""
        return ConsentBook(
            {name: state for name, state in self.states.items() if name != participant},
            self.default,
        )

    def strangers(self, snapshot: Mapping[str, TextValue]) -> tuple[str, ...]:
        """Names in ``snapshot`` that are not residents of this edge."""
        return tuple(sorted(name for name in snapshot if name not in self.states))
