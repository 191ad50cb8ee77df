"""API errors rendered as application/problem+json (RFC 9457), naming the field at fault."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the API reports to the client: status, short title, detail, per-field errors."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    def to_problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        return body


def field_problem(
    field: str, reason: str, status: int = 422, title: str = "Invalid request"
) -> ApiError:
    """An error about one field (of a body, or a query argument), named in ``errors`` too."""
    return ApiError(status, title, f"{field}: {reason}", [{"field": field, "reason": reason}])


def bad_arg(name: str, reason: str) -> ApiError:
    """400 for a query argument the route cannot use."""
    return field_problem(name, reason, 400, "Invalid parameter")
