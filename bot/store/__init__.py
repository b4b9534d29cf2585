"""Storage: the store, its migrations, the inbox of incoming events, hand-over tickets, retention.

Importing the package registers every migration (the inbox's and the tickets' too) before a
``Store`` opens.
"""

from bot.store import inbox as inbox
from bot.store import tickets as tickets
