"""The Slack edge: listeners, Block Kit, the slash command, feedback, suggestions."""
