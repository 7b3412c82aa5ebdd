"""`python -m bot.cli`: the `bot` command without installing it."""

from bot.cli.commands import main

main()
