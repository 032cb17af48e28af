"""Meta's Graph API for WhatsApp (the Cloud API): the one module that builds Graph requests.

Every URL and body the app sends to Meta is made here: sending (text, a reply, a reaction, media by
id, a template), marking read (with the typing indicator), uploading and fetching media, listing
templates. The rest of the app calls these methods with plain values and gets plain values back,
or a GraphError that says whether trying again can help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from .errors import GraphError

MESSAGING_PRODUCT = "whatsapp"
DEFAULT_TIMEOUT = 15.0  # seconds for one call; a timeout is retried like a 5xx


@dataclass(frozen=True)
class GraphSettings:
    base_url: str  # https://graph.facebook.com, or a proxy or the local Graph API of the tests
    version: str  # v26.0
    access_token: str
    phone_number_id: str
    business_account_id: str = ""
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class MediaInfo:
    """What `GET /{media-id}` says of a media object; `url` is short-lived and needs the token."""

    id: str
    url: str
    mime_type: str
    sha256: str
    file_size: int | None


# --- the bodies of POST /{phone-number-id}/messages (pure) ---------------------------------------------------


def message_body(to: str, kind: str, content: dict[str, Any], *, reply_to: str | None = None) -> dict[str, Any]:
    """A message as Meta's send call takes it; `content` is the object under the type's key."""
    body: dict[str, Any] = {"messaging_product": MESSAGING_PRODUCT, "recipient_type": "individual", "to": to,
                            "type": kind, kind: content}
    if reply_to:
        body["context"] = {"message_id": reply_to}
    return body


def text_content(text: str) -> dict[str, Any]:
    return {"body": text, "preview_url": False}


def media_content(media_id: str, *, caption: str | None = None, filename: str | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"id": media_id}
    if caption:
        content["caption"] = caption
    if filename:
        content["filename"] = filename
    return content


def reaction_content(message_id: str, emoji: str) -> dict[str, Any]:
    """An empty emoji removes the reaction."""
    return {"message_id": message_id, "emoji": emoji}


def template_content(name: str, language: str, parameters: list[str]) -> dict[str, Any]:
    content: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        content["components"] = [{"type": "body",
                                  "parameters": [{"type": "text", "text": value} for value in parameters]}]
    return content


def read_body(message_id: str, *, typing: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"messaging_product": MESSAGING_PRODUCT, "status": "read", "message_id": message_id}
    if typing:
        body["typing_indicator"] = {"type": "text"}
    return body


# --- the client -------------------------------------------------------------------------------------------------


class GraphClient:
    def __init__(self, settings: GraphSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or requests.Session()

    def url(self, *path: str) -> str:
        return "/".join([self.settings.base_url.rstrip("/"), self.settings.version, *path])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.access_token}"}

    def send(self, body: dict[str, Any]) -> str:
        """Send a message (a body from message_body()); Meta's id for it (the wamid)."""
        answer = self._call("POST", self.url(self.settings.phone_number_id, "messages"), json=body)
        try:
            return str(answer["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise GraphError.unexpected(f"the send answer has no message id: {str(answer)[:200]}") from None

    def mark_read(self, message_id: str, *, typing: bool = False) -> None:
        self._call("POST", self.url(self.settings.phone_number_id, "messages"),
                   json=read_body(message_id, typing=typing))

    def upload_media(self, data: bytes, mime_type: str, filename: str) -> str:
        """Upload a file for sending; its media id (valid about 30 days)."""
        answer = self._call("POST", self.url(self.settings.phone_number_id, "media"),
                            data={"messaging_product": MESSAGING_PRODUCT, "type": mime_type},
                            files={"file": (filename, data, mime_type)})
        media_id = answer.get("id") if isinstance(answer, dict) else None
        if not media_id:
            raise GraphError.unexpected(f"the upload answer has no media id: {str(answer)[:200]}")
        return str(media_id)

    def media_info(self, media_id: str) -> MediaInfo:
        answer = self._call("GET", self.url(media_id))
        try:
            size = answer.get("file_size")
            return MediaInfo(id=str(answer.get("id") or media_id), url=str(answer["url"]),
                             mime_type=str(answer.get("mime_type") or "application/octet-stream"),
                             sha256=str(answer.get("sha256") or ""),
                             file_size=int(size) if size is not None else None)
        except (KeyError, TypeError, ValueError):
            raise GraphError.unexpected(f"the media answer has no url: {str(answer)[:200]}") from None

    def download(self, url: str, *, max_bytes: int) -> bytes:
        """The bytes behind a media url (which needs the same token); GraphError when it has expired."""
        try:
            response = self.session.get(url, headers=self.headers, timeout=self.settings.timeout, stream=True)
        except requests.RequestException as exc:
            raise GraphError.network(exc) from None
        with response:
            if response.status_code >= 400:
                raise GraphError.from_response(response)
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise GraphError.unexpected(f"the media is larger than {max_bytes} bytes", permanent=True)
                chunks.append(chunk)
        return b"".join(chunks)

    def templates(self) -> list[dict[str, Any]]:
        """Every approved message template of the business account, all pages."""
        if not self.settings.business_account_id:
            raise GraphError.unexpected("WHATSAPP_BUSINESS_ACCOUNT_ID is not set", permanent=True)
        url = self.url(self.settings.business_account_id, "message_templates")
        params: dict[str, str] = {"status": "APPROVED", "limit": "100"}
        found: list[dict[str, Any]] = []
        for _ in range(100):  # pages; a loop bound, not a limit anyone reaches
            answer = self._call("GET", url, params=params)
            found.extend(t for t in answer.get("data") or [] if isinstance(t, dict))
            after = ((answer.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (answer.get("paging") or {}).get("next"):
                break
            params = {**params, "after": after}
        return found

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.session.request(method, url, headers=self.headers, timeout=self.settings.timeout,
                                            **kwargs)
        except requests.RequestException as exc:
            raise GraphError.network(exc) from None
        if response.status_code >= 400:
            raise GraphError.from_response(response)
        try:
            answer = response.json()
        except ValueError:
            raise GraphError.unexpected(f"HTTP {response.status_code} with a body that is not JSON") from None
        return answer if isinstance(answer, dict) else {"data": answer}
