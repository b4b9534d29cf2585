"""The web channel: the citizens' chat (a page of its own and a widget other sites embed) and the
officials' dashboard at ``/admin``, both on the one aiohttp application.

- ``channel.py``   the ``ChannelPlugin``: routes, start/stop, the factory ``bot/app.py`` uses
- ``chat.py``      chat page, ``POST /chat/api/message`` → ``Incoming`` → dialog → JSON replies
- ``render.py``    ``Reply`` → JSON (buttons as packed actions or http(s) links), pure
- ``sessions.py``  the citizen's signed session cookie and its CSRF token
- ``security.py``  Origin checks, rate limits, client address, security headers
- ``accounts.py``  dashboard passwords (scrypt) and the slowing of failed logins
- ``dashboard.py`` ``/admin``: log-in, indicator, unanswered questions, comments, downloads
- ``pages.py``     Jinja2 (HTML autoescape on) and the static files of ``static/``
"""
