"""What the Cloud API side tells the event bus."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TokenStatusChanged:
    """Meta refused the access token (`problem` says why), or a call works again (`problem` None)."""

    problem: str | None
