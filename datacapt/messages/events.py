"""What messages publish for other capabilities to react to (:mod:`datacapt.reactions`)."""

from __future__ import annotations

from dataclasses import dataclass

from datacapt.models import Message, MessageThread
from datacapt.reactions import Event


@dataclass(frozen=True)
class MessagePosted(Event):
    """A message was added to ``thread`` (the first one of a new thread, or a reply)."""

    thread: MessageThread
    message: Message
