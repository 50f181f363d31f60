"""The one error type for user mistakes.

Library code raises :class:`UserError` (or a subclass) for anything the user can
fix: a bad spec, missing data, an output directory made by another spec. The CLI
prints its message as one line and exits 2; it never shows a traceback for it.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix; the message names the value, what was expected and the fix."""


class SpecError(UserError):
    """An invalid experiment spec, found before anything runs."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class DataError(UserError):
    """A data source that is missing, unreadable or too small for the spec."""


class StoreError(UserError):
    """A results directory that cannot be used as asked (another spec's runs, unreadable files)."""
