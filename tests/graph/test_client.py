"""The Graph client against the local Graph API server: what Meta receives for each kind of call,
and how each of Meta's failures is classified (retry, when, or stop for a new token)."""

from __future__ import annotations

import hashlib

import pytest

from tests.helpers.graph_api import PHONE_NUMBER_ID, TOKEN, WABA_ID, GraphAPI
from webapp.graph.client import (
    GraphClient,
    GraphSettings,
    media_content,
    message_body,
    reaction_content,
    template_content,
    text_content,
)
from webapp.graph.errors import GraphError

CUSTOMER = "919937320320"


def client_for(server: GraphAPI, *, timeout: float = 5.0, token: str = TOKEN) -> GraphClient:
    return GraphClient(GraphSettings(base_url=server.url, version="v26.0", access_token=token,
                                     phone_number_id=PHONE_NUMBER_ID, business_account_id=WABA_ID, timeout=timeout))


def test_a_text_is_sent_as_meta_documents_it_and_its_wamid_comes_back(graph_api: GraphAPI) -> None:
    wamid = client_for(graph_api).send(message_body(CUSTOMER, "text", text_content("Hello Ravi")))
    request = graph_api.requests_to("send")[-1]
    assert request.path == f"/v26.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.json == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
                            "type": "text", "text": {"body": "Hello Ravi", "preview_url": False}}
    assert [m.wamid for m in graph_api.sent_messages()] == [wamid]


def test_a_reply_quotes_its_message_and_a_reaction_names_its_target(graph_api: GraphAPI) -> None:
    client = client_for(graph_api)
    quoted = graph_api.add_inbound_message()
    client.send(message_body(CUSTOMER, "text", text_content("Yes"), reply_to=quoted))
    client.send(message_body(CUSTOMER, "reaction", reaction_content(quoted, "👍")))
    reply, reaction = (r.json for r in graph_api.requests_to("send"))
    assert reply["context"] == {"message_id": quoted}
    assert reaction["reaction"] == {"message_id": quoted, "emoji": "👍"}


def test_media_is_uploaded_then_sent_by_its_id(graph_api: GraphAPI) -> None:
    client = client_for(graph_api)
    pdf = b"%PDF-1.4 invoice"
    media_id = client.upload_media(pdf, "application/pdf", "invoice.pdf")
    client.send(message_body(CUSTOMER, "document",
                             media_content(media_id, caption="Your invoice", filename="invoice.pdf")))
    assert graph_api.media(media_id).data == pdf
    sent = graph_api.requests_to("send")[-1].json
    assert sent["document"] == {"id": media_id, "caption": "Your invoice", "filename": "invoice.pdf"}


def test_a_template_is_sent_with_its_parameters(graph_api: GraphAPI) -> None:
    graph_api.add_template("order_update", "Your order {{1}} has shipped")
    client_for(graph_api).send(message_body(CUSTOMER, "template", template_content("order_update", "en_US",
                                                                                   ["4521"])))
    assert graph_api.requests_to("send")[-1].json["template"] == {
        "name": "order_update", "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "4521"}]}]}


def test_templates_are_listed_across_pages(graph_api: GraphAPI) -> None:
    for n in range(30):
        graph_api.add_template(f"template_{n:02d}", f"Body {n}")
    names = [t["name"] for t in client_for(graph_api).templates()]
    assert sorted(names) == [f"template_{n:02d}" for n in range(30)]


def test_mark_read_with_the_typing_indicator(graph_api: GraphAPI) -> None:
    wamid = graph_api.add_inbound_message()
    client_for(graph_api).mark_read(wamid, typing=True)
    assert graph_api.requests_to("mark_read")[-1].json == {
        "messaging_product": "whatsapp", "status": "read", "message_id": wamid, "typing_indicator": {"type": "text"}}


def test_inbound_media_is_looked_up_then_downloaded_with_the_token(graph_api: GraphAPI) -> None:
    photo = b"\xff\xd8\xff\xe0 a photo"
    media_id = graph_api.add_inbound_media(photo, "image/jpeg")
    client = client_for(graph_api)
    info = client.media_info(media_id)
    assert (info.mime_type, info.file_size) == ("image/jpeg", len(photo))
    assert info.sha256 == hashlib.sha256(photo).hexdigest()
    assert client.download(info.url, max_bytes=1024) == photo
    with pytest.raises(GraphError) as too_big:
        client.download(info.url, max_bytes=4)
    assert not too_big.value.retryable


def test_an_expired_media_url_fails_and_a_fresh_lookup_works(graph_api: GraphAPI) -> None:
    media_id = graph_api.add_inbound_media(b"voice", "audio/ogg")
    client = client_for(graph_api)
    stale = client.media_info(media_id)
    graph_api.expire_media_urls()
    with pytest.raises(GraphError):
        client.download(stale.url, max_bytes=1024)
    assert client.download(client.media_info(media_id).url, max_bytes=1024) == b"voice"


@pytest.mark.parametrize(
    ("status", "code", "retryable", "retry_after"),
    [
        (429, 130429, True, None),  # throughput: back off
        (400, 131056, True, 6.0),  # same customer too fast: wait at least 6 s
        (500, None, True, None),
        (503, None, True, None),
        (400, 131047, False, None),  # the 24-hour window is closed: a template is needed
        (400, 131026, False, None),  # undeliverable
        (400, 100, False, None),  # a bad parameter: a bug or bad input
    ],
)
def test_each_failure_is_classified(graph_api: GraphAPI, status: int, code: int | None, retryable: bool,
                                    retry_after: float | None) -> None:
    graph_api.fail_next("send", status, code)
    with pytest.raises(GraphError) as caught:
        client_for(graph_api).send(message_body(CUSTOMER, "text", text_content("hi")))
    error = caught.value
    assert (error.http_status, error.retryable, error.retry_after, error.token_invalid) == (
        status, retryable, retry_after, False)
    if code is not None:
        assert error.code == code
    assert error.reason  # what the agent reads under the red tick


def test_a_revoked_token_stops_everything_rather_than_retrying(graph_api: GraphAPI) -> None:
    graph_api.revoke_token()
    with pytest.raises(GraphError) as caught:
        client_for(graph_api).send(message_body(CUSTOMER, "text", text_content("hi")))
    assert caught.value.token_invalid and not caught.value.retryable
    assert "access token" in caught.value.reason


def test_a_timeout_and_a_dropped_connection_are_worth_retrying(graph_api: GraphAPI) -> None:
    client = client_for(graph_api, timeout=0.5)
    graph_api.delay_next("send", 2.0)
    with pytest.raises(GraphError) as timed_out:
        client.send(message_body(CUSTOMER, "text", text_content("slow")))
    graph_api.drop_next("send")
    with pytest.raises(GraphError) as dropped:
        client.send(message_body(CUSTOMER, "text", text_content("dropped")))
    assert timed_out.value.retryable and "timed out" in timed_out.value.message
    assert dropped.value.retryable
