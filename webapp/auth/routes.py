"""The sign-in page and signing out. The checks themselves live in webapp.auth.accounts."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from . import accounts, csrf, guard, sockets

bp = Blueprint("auth", __name__)

FORM_EXPIRED = "The sign-in form expired. Try again."
SIGNED_OUT = "You signed out."


def _form(next_url: str | None, *, email: str = "", error: str | None = None, notice: str | None = None,
          status: int = 200) -> ResponseReturnValue:
    return render_template("login.html", next_url=next_url, email=email, error=error, notice=notice), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sign-in form (public; rate-limited by webapp.rate_limits under this endpoint name)."""
    next_url = guard.safe_next(request.values.get("next"))
    if request.method == "GET":
        if accounts.from_session() is not None:
            return redirect(next_url or url_for("ui.index"))
        return _form(next_url, notice=SIGNED_OUT if request.args.get("signed_out") else None)
    email = request.form.get("email", "")[: accounts.MAX_EMAIL_LENGTH]
    if not csrf.is_valid():
        return _form(next_url, email=email, error=FORM_EXPIRED, status=400)
    try:
        agent = accounts.authenticate(request.form.get("email"), request.form.get("password"))
    except accounts.AccountError as exc:
        return _form(next_url, email=email, error=exc.message, status=401)
    accounts.sign_in(agent)
    return redirect(next_url or url_for("ui.index"), 303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    ended = accounts.sign_out()
    if ended:
        sockets.close_session_sockets(ended)
    # In the URL, not a flash: the session cookie is shared, and another tab sent to the sign-in page
    # by its closed connection would consume a flash before this tab's redirect lands.
    return redirect(url_for("auth.login", signed_out=1), 303)
