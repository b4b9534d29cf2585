"""The peers the channel benchmarks compare the bot with: minimal servers doing the least."""
