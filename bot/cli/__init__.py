"""The `bot` command line (bot/cli/commands.py: `main`)."""
