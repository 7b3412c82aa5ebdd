"""Errors of guards.

GuardError
 ├── RulesError    the business rules file cannot be read or has a bad entry
 └── UnsafeSQL     SQL a model wrote that must not run (not one SELECT over the tables shown)
"""


class GuardError(Exception):
    """Base of every error raised by `guards`."""


class RulesError(GuardError):
    pass


class UnsafeSQL(GuardError):
    """SQL a model wrote that must not run; the message says what to change (the model is re-asked with it)."""
