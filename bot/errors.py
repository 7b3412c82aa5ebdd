"""Errors of the bot. Messages say what to do; the CLI and Slack edges show them.

BotError
 ├── RedisUnavailable   the memory store cannot be reached
 ├── LLMUnavailable     the configured model server failed
 ├── PromptError        PROMPT_VARIANTS names a prompt that is not there
 ├── TraceNotFound      `bot trace` / `/kb why` got an id no kept trace has
 └── ApiKeyError        `bot keys` got a name that is taken, unknown or not a name
"""


class BotError(Exception):
    """Base of every error raised by `bot`."""


class RedisUnavailable(BotError):
    pass


class LLMUnavailable(BotError):
    pass


class PromptError(BotError):
    pass


class TraceNotFound(BotError):
    pass


class ApiKeyError(BotError):
    pass
