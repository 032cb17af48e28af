"""Received media: for every image, video, audio, voice note, document and sticker a customer sends,
a job fetches the file from WhatsApp and stores it (storage: local files or an S3 bucket); the
page and the API show it, and /media/<message id> serves it."""

from .fetching import subscribe
from .routes import bp
from .sending import init_app as init_sending

__all__ = ["bp", "init_sending", "subscribe"]
