"""A person when the bot is not enough: hand-over tickets to staff, and their answers relayed back.

- ``codes.py``   ticket codes citizens can quote (``DVC-7K3F``)
- ``hours.py``   office hours (OFFICE_HOURS, OFFICE_HOLIDAYS): open now?, next opening, working time
- ``relay.py``   what a channel offers the desk: reaching a citizen, posting to the staff group
- ``desk.py``    the desk: opens tickets, takes staff answers, and relays them (an outbox loop)

Channel-neutral: nothing here imports a platform SDK, aiohttp or ``bot.channels``; channels plug
in through the protocols of ``relay.py``.
"""
