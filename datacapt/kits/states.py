"""The one table of a kit's states: which change is allowed, and which needs a reason.

::

    available (depot) ──ship──▶ in transfer ──receive──▶ received ──release──▶ available (site)
    available (site) ──allocate──▶ allocated ──take back (reason)──▶ available
    in transfer / received / available / allocated ──(reason)──▶ invalid   (for ever)

A kit imported into the depot (or straight to a site) starts available there.
"""

from __future__ import annotations

from datacapt.models import KitState

S = KitState

#: (from, to) → a reason is required. A pair not in the table is refused.
TRANSITIONS: dict[tuple[KitState, KitState], bool] = {
    (S.AVAILABLE, S.IN_TRANSFER): False,
    (S.IN_TRANSFER, S.RECEIVED): False,
    (S.RECEIVED, S.AVAILABLE): False,
    (S.AVAILABLE, S.ALLOCATED): False,
    (S.ALLOCATED, S.AVAILABLE): True,
    (S.IN_TRANSFER, S.INVALID): True,
    (S.RECEIVED, S.INVALID): True,
    (S.AVAILABLE, S.INVALID): True,
    (S.ALLOCATED, S.INVALID): True,
}


class TransitionRefused(ValueError):
    """A change the table does not allow, or one without its required reason."""


def check(old: KitState, new: KitState, reason: str | None) -> None:
    """Refuse ``old → new`` unless the table allows it (with a reason where it wants one)."""
    if (old, new) not in TRANSITIONS:
        raise TransitionRefused(f"{old.value} → {new.value} is not allowed")
    if TRANSITIONS[old, new] and not (reason or "").strip():
        raise TransitionRefused(f"{old.value} → {new.value} needs a reason")
