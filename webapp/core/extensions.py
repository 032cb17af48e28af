"""Extensions, created once and bound to the app in create_app()."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_socketio import SocketIO
from flask_talisman import Talisman

socketio = SocketIO()
# Per client address (behind proxies, the one ProxyFix found: see webapp.security). Storage, the
# on/off switch and the limits themselves are settings (RATELIMIT_*, REDIS_URL): webapp.rate_limits.
limiter = Limiter(key_func=get_remote_address)
# Security headers and the Content-Security-Policy: webapp.security.
talisman = Talisman()
