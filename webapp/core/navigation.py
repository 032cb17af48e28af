"""The pages in the top bar of every page but the inbox's own (leads, documents, analytics, settings,
admin, your account). Each package adds its page in create_app(); the layout (templates/page.html)
shows the ones the signed-in person may open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request


@dataclass(frozen=True)
class Page:
    label: str
    endpoint: str
    admin_only: bool = False


def add_page(app: Flask, label: str, endpoint: str, *, admin_only: bool = False) -> None:
    app.extensions.setdefault("navigation", []).append(Page(label, endpoint, admin_only))


def init_app(app: Flask) -> None:
    @app.context_processor
    def navigation_context() -> dict[str, Any]:
        principal = g.get("principal")
        is_admin = bool(principal is not None and getattr(principal, "is_admin", False))
        pages = [page for page in current_app.extensions.get("navigation", [])
                 if is_admin or not page.admin_only]
        return {"nav_pages": pages, "current_endpoint": request.endpoint if request else None}
