from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from . import openapi

bp = Blueprint("docs", __name__)


@bp.get("/openapi.json")
def spec() -> Response:
    return jsonify(openapi.build())


@bp.get("/docs")
def swagger_ui() -> str:
    """Swagger UI; static/js/docs.js starts it (no inline script: the page runs under a strict CSP)."""
    return render_template("docs.html")
