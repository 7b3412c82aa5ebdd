"""Errors of guards.

GuardError
 └── RulesError    the business rules file cannot be read or has a bad entry
"""


class GuardError(Exception):
    """Base of every error raised by `guards`."""


class RulesError(GuardError):
    pass
