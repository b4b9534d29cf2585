"""Storage: the store, its migrations, the inbox of incoming events, retention.

Importing the package registers every migration (the inbox's too) before a ``Store`` opens.
"""

from bot.store import inbox as inbox
