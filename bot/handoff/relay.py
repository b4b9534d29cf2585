"""What a channel offers the hand-over desk.

- ``Reach``: send replies to a citizen's own chat, given the address kept with an open ticket
  (the Telegram chat id, the Zalo user id; the web chat and the console use the pseudonym).
  The answer says what happened, so that staff are told rather than left guessing.
- ``StaffRoom``: post to the staff group (Telegram), returning the ids of the messages posted,
  so that a staff member's reply to any of them is known to be about that ticket.

``bot/app.py`` hands the running channels to the desk (``Desk.attach``); a channel that has a
``reach`` method can be reached, one with a ``staff_room`` is where tickets go.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from bot.conversation.replies import Button, Reply

# sent: the platform took it; window_closed: the platform refuses replies this long after the
# citizen's last message (Zalo); failed: refused for good (blocked, unknown chat); retry: not
# reachable now (network, 5xx), try again later; unreachable: no address any more.
Delivery = Literal["sent", "window_closed", "failed", "retry", "unreachable"]
Rows = tuple[tuple[Button, ...], ...]


@runtime_checkable
class Reach(Protocol):
    name: str

    async def reach(self, address: str, replies: list[Reply]) -> Delivery: ...


@runtime_checkable
class StaffRoom(Protocol):
    name: str

    @property
    def staff_room(self) -> str | None:
        """The staff group's chat id as text; None when no staff group is set."""

    async def post_staff(self, text: str, buttons: Rows = ()) -> list[int]:
        """Post to the staff group; the ids of the messages posted (empty: it failed)."""
