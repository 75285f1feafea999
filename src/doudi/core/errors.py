"""Domain errors that routes and commands turn into clear messages."""

from __future__ import annotations

from dataclasses import dataclass, field


class DoudiError(Exception):
    """Base of every error the platform reports to a user."""


class NotFound(DoudiError):
    """The object does not exist, or lies outside the user's area (the two look the same)."""


class PermissionDenied(DoudiError):
    """The user's roles do not allow this action; `action` names the permission that is missing, when one is."""

    def __init__(self, message: str = "", *, action: str | None = None) -> None:
        super().__init__(message)
        self.action = action


class Conflict(DoudiError):
    """A stale or conflicting write, such as an approval based on an outdated version."""


@dataclass
class FieldError:
    """One problem with one field (or one row and field of a file)."""

    field: str
    message: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"第 {self.row} 行 " if self.row is not None else ""
        return f"{where}{self.field}：{self.message}"


@dataclass
class ValidationFailed(DoudiError):
    """Input failed validation; every field error is listed."""

    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return "；".join(str(e) for e in self.errors)
