"""The parser, decode_json and signature verification: pure functions, no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.helpers.app import BUSINESS_NUMBER, PHONE_NUMBER_ID
from tests.helpers.payloads import (
    NEHA,
    RAVI,
    SAMPLE_CONTENT,
    failure,
    inbound,
    message,
    meta_body,
    outbound,
    raw,
    reaction,
    status,
    statuses,
    text,
    value,
    wamid,
    wrapper_body,
)
from webapp.whatsapp.events import Business, MessageEvent, ReactionEvent, StatusEvent
from webapp.whatsapp.parse import WebhookFormatError, decode_json, parse_webhook
from webapp.whatsapp.signature import SignatureVerdict, sign, verify

DEFAULT = Business(phone_number_id=PHONE_NUMBER_ID, display_number=BUSINESS_NUMBER)


def parse(body: Any):
    return parse_webhook(body, DEFAULT)


def only_message(body: Any) -> MessageEvent:
    events = parse(body).events
    assert len(events) == 1
    assert isinstance(events[0], MessageEvent)
    return events[0]


def rejected(body: Any) -> WebhookFormatError:
    with pytest.raises(WebhookFormatError) as info:
        parse(body)
    return info.value


# --- shapes and batches ---------------------------------------------------------------------------


@pytest.mark.parametrize("wrap", [meta_body, wrapper_body], ids=["meta", "wrapper"])
def test_both_body_shapes_give_the_same_events(wrap):
    body = wrap(value(contacts=[(RAVI, "Ravi Kumar")], messages=[text("Hi", id="wamid.A", timestamp=1754400000)]))
    batch = parse(body)
    assert batch.shape == ("meta" if wrap is meta_body else "wrapper")
    event = only_message(body)
    assert event.wamid == "wamid.A"
    assert event.contact_wa_id == RAVI and event.contact_name == "Ravi Kumar"
    assert event.content == {"body": "Hi"} and event.type == "text"
    assert event.timestamp == datetime(2025, 8, 5, 13, 20, tzinfo=UTC)
    assert event.business == DEFAULT
    assert event.conversation_id == f"{PHONE_NUMBER_ID}:{RAVI}"


def test_every_entry_change_message_and_status_is_returned_in_order():
    ids = [f"wamid.M{i}" for i in range(6)]
    body = meta_body(
        value(messages=[text("one", id=ids[0]), text("two", id=ids[1])], contacts=[(RAVI, "Ravi")]),
        value(statuses=[status("wamid.OUT1", "sent"), status("wamid.OUT1", "delivered")]),
        value(messages=[text("three", id=ids[2], sender=NEHA)], contacts=[(NEHA, "Neha")],
              statuses=[status("wamid.OUT2", "read")]),
        value(messages=[text("four", id=ids[3]), text("five", id=ids[4]), text("six", id=ids[5])]),
        entries=3,
    )
    assert len(body["entry"]) == 2
    assert sum(len(e["changes"]) for e in body["entry"]) == 4
    events = parse(body).events
    described = [
        (e.wamid, e.status) if isinstance(e, StatusEvent) else (e.wamid, e.content["body"]) for e in events
    ]
    assert described == [
        (ids[0], "one"), (ids[1], "two"),
        ("wamid.OUT1", "sent"), ("wamid.OUT1", "delivered"),
        (ids[2], "three"), ("wamid.OUT2", "read"),
        (ids[3], "four"), (ids[4], "five"), (ids[5], "six"),
    ]
    assert events[4].contact_wa_id == NEHA and events[4].contact_name == "Neha"


def test_several_entries_each_with_several_changes():
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1", "changes": [{"field": "messages", "value": value(messages=[text("a", id="wamid.a")])},
                                    {"field": "messages", "value": value(messages=[text("b", id="wamid.b")])}]},
            {"id": "2", "changes": [{"field": "messages", "value": value(statuses=[status("wamid.x", "read")])},
                                    {"field": "messages", "value": value(messages=[text("c", id="wamid.c")])}]},
        ],
    }
    assert [e.wamid for e in parse(body).events] == ["wamid.a", "wamid.b", "wamid.x", "wamid.c"]


def test_a_change_without_field_is_a_messages_change():
    body = {"object": "whatsapp_business_account",
            "entry": [{"changes": [{"value": value(messages=[text("hi", id="wamid.nofield")])}]}]}
    assert [e.wamid for e in parse(body).events] == ["wamid.nofield"]


def test_other_change_fields_are_ignored_and_reported():
    body = meta_body(value(messages=[text("hi")]))
    body["entry"][0]["changes"].append({"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}})
    body["entry"][0]["changes"].append({"field": "message_template_status_update", "value": {"event": "APPROVED"}})
    batch = parse(body)
    assert len(batch.events) == 1
    assert batch.ignored == ["account_update", "message_template_status_update"]


def test_a_body_of_only_other_fields_parses_to_no_events():
    batch = parse(meta_body({"event": "VERIFIED_ACCOUNT"}, field="account_update"))
    assert batch.events == [] and batch.ignored == ["account_update"]


def test_unknown_status_names_are_ignored_not_errors():
    batch = parse(statuses(status("wamid.S", "deleted"), status("wamid.S", "delivered"), status("wamid.S", "pending")))
    assert [(e.wamid, e.status) for e in batch.events] == [("wamid.S", "delivered")]
    assert batch.ignored == ["status:deleted", "status:pending"]


# --- direction, contact and business ------------------------------------------------------------------


def test_inbound_when_from_is_the_contact():
    event = only_message(inbound(text("hello", sender=RAVI)))
    assert event.direction == "inbound"
    assert event.sender == RAVI and event.recipient == BUSINESS_NUMBER and event.contact_wa_id == RAVI


def test_outbound_when_from_is_the_business_display_number():
    event = only_message(meta_body(value(messages=[outbound("Hi Ravi", to=RAVI)], contacts=[(RAVI, "Ravi Kumar")])))
    assert event.direction == "outbound"
    assert event.sender == BUSINESS_NUMBER and event.recipient == RAVI
    assert event.contact_wa_id == RAVI and event.contact_name == "Ravi Kumar"


def test_outbound_without_to_goes_to_the_first_contact():
    body = meta_body(value(messages=[text("Hi Neha", sender=BUSINESS_NUMBER)], contacts=[(NEHA, "Neha")]))
    event = only_message(body)
    assert event.direction == "outbound" and event.contact_wa_id == NEHA and event.recipient == NEHA


def test_outbound_with_no_recipient_at_all_is_rejected():
    error = rejected(meta_body(value(messages=[text("to whom?", sender=BUSINESS_NUMBER)])))
    assert list(error.errors) == ["entry[0].changes[0].value.messages[0]"]


def test_direction_follows_the_metadata_business_number_not_the_default():
    other_business = "15550009999"
    body = meta_body(value(messages=[text("from the other line", sender=other_business, to=RAVI)],
                           display_number=other_business, phone_number_id="777"))
    event = only_message(body)
    assert event.direction == "outbound"
    assert event.business == Business("777", other_business)
    assert event.conversation_id == f"777:{RAVI}"
    # and the default business's number, sent to that other line, is just a contact there
    event = only_message(meta_body(value(messages=[text("hi", sender=BUSINESS_NUMBER)],
                                         display_number=other_business, phone_number_id="777")))
    assert event.direction == "inbound" and event.contact_wa_id == BUSINESS_NUMBER


def test_without_metadata_the_default_business_is_used():
    v = value(messages=[text("mine", sender=BUSINESS_NUMBER, to=RAVI), text("theirs", sender=RAVI)])
    del v["metadata"]
    first, second = parse(meta_body(v)).events
    assert first.business == DEFAULT and second.business == DEFAULT
    assert first.direction == "outbound" and second.direction == "inbound"


def test_plus_prefixed_numbers_are_normalised():
    body = meta_body(value(messages=[text("hi", sender="+" + RAVI)], contacts=[("+" + RAVI, "Ravi")],
                           display_number="+" + BUSINESS_NUMBER))
    event = only_message(body)
    assert event.sender == RAVI and event.contact_wa_id == RAVI and event.contact_name == "Ravi"
    assert event.business.display_number == BUSINESS_NUMBER


def test_contact_name_comes_from_the_matching_profile():
    body = meta_body(value(messages=[text("a", sender=NEHA), text("b", sender=RAVI), text("c", sender="15551234567")],
                           contacts=[(RAVI, "Ravi Kumar"), (NEHA, "  Neha  ")]))
    names = [e.contact_name for e in parse(body).events]
    assert names == ["Neha", "Ravi Kumar", None]


# --- message types -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mtype", sorted(SAMPLE_CONTENT))
def test_every_message_type_is_kept_with_its_content(mtype):
    content = SAMPLE_CONTENT[mtype][0]
    event = only_message(inbound(message(mtype, content, id=f"wamid.{mtype}")))
    assert event.type == mtype
    assert event.content == content
    assert event.wamid == f"wamid.{mtype}"


def test_list_reply_is_kept():
    content = {"type": "list_reply", "list_reply": {"id": "slot-2", "title": "Tomorrow 10am", "description": "Room B"}}
    event = only_message(inbound(message("interactive", content)))
    assert event.type == "interactive" and event.content == content


def test_audio_voice_flag_is_kept():
    event = only_message(inbound(message("audio", {"id": "M", "mime_type": "audio/ogg", "voice": True})))
    assert event.content["voice"] is True


def test_unsupported_message_keeps_its_errors():
    errors = [{"code": 131051, "title": "Message type unknown",
               "message": "Message type unknown", "error_data": {"details": "Message type is currently not supported"}}]
    m = message("unsupported", None, id="wamid.unsup")
    m["errors"] = errors
    event = only_message(inbound(m))
    assert event.type == "unsupported" and event.errors == errors and event.content is None


def test_a_message_without_type_is_unsupported():
    m = text("typeless")
    del m["type"]
    event = only_message(inbound(m))
    assert event.type == "unsupported"


def test_unknown_future_type_is_kept_as_is():
    event = only_message(inbound(message("ephemeral", {"secret": "42", "ttl": 60})))
    assert event.type == "ephemeral" and event.content == {"secret": "42", "ttl": 60}


def test_reaction_becomes_a_reaction_event():
    target = wamid()
    event, = parse(inbound(reaction(target, "👍", id="wamid.R1", timestamp=1754400050))).events
    assert isinstance(event, ReactionEvent)
    assert event.target_wamid == target and event.emoji == "👍"
    assert event.sender == RAVI and event.contact_wa_id == RAVI and event.direction == "inbound"
    assert event.timestamp == datetime.fromtimestamp(1754400050, tz=UTC)


@pytest.mark.parametrize("content", [{"message_id": "wamid.T", "emoji": ""}, {"message_id": "wamid.T"}],
                         ids=["empty", "absent"])
def test_reaction_with_empty_emoji_is_a_removal(content):
    event, = parse(inbound(message("reaction", content))).events
    assert isinstance(event, ReactionEvent) and event.emoji == "" and event.target_wamid == "wamid.T"


def test_reply_context_is_kept():
    context = {"from": BUSINESS_NUMBER, "id": "wamid.QUOTED"}
    event = only_message(inbound(text("yes please", context=context)))
    assert event.context == context


def test_forwarded_context_is_kept():
    event = only_message(inbound(message("image", {"id": "M1"}, context={"forwarded": True})))
    assert event.context == {"forwarded": True}


# --- statuses ----------------------------------------------------------------------------------------


def test_status_fields_are_parsed():
    errors = [failure()]
    event, = parse(statuses(status("wamid.OUT", "failed", timestamp=1754400100, errors=errors))).events
    assert isinstance(event, StatusEvent)
    assert event.wamid == "wamid.OUT" and event.status == "failed" and event.rank == 2
    assert event.timestamp == datetime.fromtimestamp(1754400100, tz=UTC)
    assert event.recipient_id == RAVI and event.errors == errors


@pytest.mark.parametrize(("stamp", "seconds"), [("1754400000", 1754400000), (1754400000, 1754400000),
                                                ("1754400000.5", 1754400000.5)])
def test_timestamps_as_strings_or_numbers(stamp, seconds):
    m = text("hi")
    m["timestamp"] = stamp
    assert only_message(inbound(m)).timestamp == datetime.fromtimestamp(seconds, tz=UTC)


# --- malformed bodies: rejected whole, with the path of each problem -----------------------------------


@pytest.mark.parametrize("body", [[], [meta_body(value())], "entry", 42, None, True])
def test_a_body_that_is_not_an_object_is_rejected(body):
    error = rejected(body)
    assert "JSON object" in error.message


@pytest.mark.parametrize("body", [{}, {"hello": "world"}, {"object": "page"}])
def test_neither_shape_is_rejected(body):
    error = rejected(body)
    assert "Not a WhatsApp webhook" in error.message or "Unsupported object" in error.message


def test_another_object_kind_is_rejected():
    body = meta_body(value(messages=[text("hi")]))
    body["object"] = "instagram"
    assert rejected(body).errors == {"object": "must be 'whatsapp_business_account'"}


def test_missing_entry_is_rejected():
    assert rejected({"object": "whatsapp_business_account"}).errors == {"entry": "is required"}


def test_wrapper_without_metadata_object_is_rejected():
    error = rejected({"payload_type": "whatsapp_webhook", "metaData": "nope"})
    assert error.errors == {"metaData": "must be an object"}


def test_wrapper_missing_entry_names_its_path():
    body = wrapper_body(value(messages=[text("hi")]))
    del body["metaData"]["entry"]
    assert rejected(body).errors == {"metaData.entry": "is required"}


@pytest.mark.parametrize("entry", [{}, "x", 3])
def test_entry_not_a_list_is_rejected(entry):
    assert rejected({"object": "whatsapp_business_account", "entry": entry}).errors == {"entry": "must be an array"}


def test_entry_item_and_changes_must_be_the_right_kinds():
    body = {"object": "whatsapp_business_account", "entry": ["x", {"changes": "y"}, {"changes": [5]}, {}]}
    assert rejected(body).errors == {
        "entry[0]": "must be an object",
        "entry[1].changes": "must be an array",
        "entry[2].changes[0]": "must be an object",
        "entry[3].changes": "must be an array",
    }


def bad_message_body(**changes: Any) -> dict[str, Any]:
    """Three good messages and one bad one (index 1 of the second change)."""
    bad = text("bad", id="wamid.BAD")
    for key, new in changes.items():
        if new is None:
            bad.pop(key, None)
        else:
            bad[key] = new
    return meta_body(value(messages=[text("ok 1")]), value(messages=[text("ok 2"), bad, text("ok 3")]))


BAD_PATH = "entry[0].changes[1].value.messages[1]"


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"id": None}, "id", "is required"),
        ({"id": ""}, "id", "must not be empty"),
        ({"id": {"$gt": ""}}, "id", "must be a string"),
        ({"from": None}, "from", "is required"),
        ({"from": "ravi"}, "from", "must be a phone number"),
        ({"from": "91-99373"}, "from", "must be a phone number"),
        ({"timestamp": None}, "timestamp", "is required"),
        ({"timestamp": "yesterday"}, "timestamp", "must be Unix seconds"),
        ({"timestamp": True}, "timestamp", "must be Unix seconds"),
        ({"timestamp": "-5"}, "timestamp", "is out of range"),
        ({"timestamp": "99999999999"}, "timestamp", "is out of range"),
        ({"text": {"preview_url": False}}, "text.body", "must be a string"),
        ({"text": {"body": 12}}, "text.body", "must be a string"),
        ({"text": "hello"}, "text", "must be an object"),
        ({"context": "wamid.X"}, "context", "must be an object"),
    ],
)
def test_a_malformed_message_names_its_path(change, field, problem):
    error = rejected(bad_message_body(**change))
    assert list(error.errors) == [f"{BAD_PATH}.{field}"]
    assert problem in error.errors[f"{BAD_PATH}.{field}"]
    assert "nothing was stored" in error.message


def test_the_second_message_without_id_names_its_path():
    second = text("no id")
    del second["id"]
    error = rejected(inbound(text("fine"), second))
    assert error.errors == {"entry[0].changes[0].value.messages[1].id": "is required"}


def test_a_wrapper_body_names_paths_under_metadata():
    second = text("no id")
    del second["id"]
    error = rejected(wrapper_body(value(messages=[text("fine"), second])))
    assert error.errors == {"metaData.entry[0].changes[0].value.messages[1].id": "is required"}


def test_a_message_that_is_not_an_object_names_its_path():
    body = meta_body(value(messages=[text("ok"), "not a message"]))
    assert rejected(body).errors == {"entry[0].changes[0].value.messages[1]": "must be an object"}


def test_messages_not_a_list_names_its_path():
    body = meta_body(value(messages=[]))
    body["entry"][0]["changes"][0]["value"]["messages"] = {"id": "x"}
    assert rejected(body).errors == {"entry[0].changes[0].value.messages": "must be an array"}


def test_a_reaction_without_target_or_with_a_bad_emoji_is_rejected():
    body = inbound(message("reaction", {"emoji": "👍"}), message("reaction", {"message_id": "wamid.T", "emoji": 5}),
                   message("reaction", None))
    path = "entry[0].changes[0].value.messages"
    assert rejected(body).errors == {
        f"{path}[0].reaction.message_id": "is required",
        f"{path}[1].reaction.emoji": "must be a short string (empty removes the reaction)",
        f"{path}[2].reaction": "must be an object",
    }


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"id": None}, "id", "is required"),
        ({"status": None}, "status", "is required"),
        ({"timestamp": None}, "timestamp", "is required"),
        ({"timestamp": "soon"}, "timestamp", "must be Unix seconds"),
        ({"errors": "boom"}, "errors", "must be an array"),
        ({"recipient_id": "nobody"}, "recipient_id", "must be a phone number"),
    ],
)
def test_a_malformed_status_names_its_path(change, field, problem):
    bad = status("wamid.OUT", "failed")
    for key, new in change.items():
        if new is None:
            bad.pop(key)
        else:
            bad[key] = new
    body = statuses(status("wamid.OK", "read"), bad)
    error = rejected(body)
    path = f"entry[0].changes[0].value.statuses[1].{field}"
    assert list(error.errors) == [path]
    assert problem in error.errors[path]


def test_bad_metadata_and_contacts_name_their_paths():
    v = value(messages=[text("hi")])
    v["metadata"]["phone_number_id"] = "abc"
    v["contacts"] = [{"wa_id": "not-a-number", "profile": {"name": "X"}}]
    errors = rejected(meta_body(v)).errors
    assert errors["entry[0].changes[0].value.metadata.phone_number_id"] == "must be digits"
    assert "must be a phone number" in errors["entry[0].changes[0].value.contacts[0].wa_id"]


def without_id(m: dict[str, Any]) -> dict[str, Any]:
    m["id"] = ""
    return m


def test_every_problem_is_reported_not_just_the_first():
    body = meta_body(value(messages=[without_id(text("a")), text("b", sender="x")], statuses=[{"id": "wamid.S"}]))
    errors = rejected(body).errors
    path = "entry[0].changes[0].value"
    assert set(errors) == {f"{path}.messages[0].id", f"{path}.messages[1].from",
                           f"{path}.statuses[0].status", f"{path}.statuses[0].timestamp"}
    assert "4 problems" in rejected(body).message


def test_the_number_of_reported_problems_is_bounded():
    body = meta_body(value(messages=[without_id(text("x")) for _ in range(100)]))
    errors = rejected(body).errors
    assert 1 <= len(errors) <= 20


# --- decode_json ---------------------------------------------------------------------------------------


def test_decode_json_reads_utf8_json():
    assert decode_json('{"name": "Ravi 🙂"}'.encode()) == {"name": "Ravi 🙂"}
    body = raw(inbound(text("hi")))
    assert decode_json(body) == json.loads(body)


@pytest.mark.parametrize("body", [b"", b"   \n\t"])
def test_decode_json_rejects_an_empty_body(body):
    with pytest.raises(WebhookFormatError, match="empty"):
        decode_json(body)


def test_decode_json_rejects_invalid_utf8_naming_the_byte():
    with pytest.raises(WebhookFormatError, match=r"not UTF-8 \(byte 10\)"):
        decode_json(b'{"text": "\xff\xfe"}')


@pytest.mark.parametrize("body", [b'{"entry": [', b"{'single': 'quotes'}", b"not json", b'{"a": 1} trailing'])
def test_decode_json_rejects_invalid_json_naming_where(body):
    with pytest.raises(WebhookFormatError, match=r"not valid JSON: .* at line 1 column \d+"):
        decode_json(body)


# --- signature -----------------------------------------------------------------------------------------


BODY = raw(inbound(text("signed", id="wamid.SIGNED")))


def test_sign_is_hmac_sha256_of_the_body():
    # a fixed vector, computed independently: HMAC-SHA256("s3cret", b"{}")
    import hashlib
    import hmac

    expected = hmac.new(b"s3cret", b"{}", hashlib.sha256).hexdigest()
    assert sign(b"{}", "s3cret") == f"sha256={expected}"


def test_verify_valid_signature():
    assert verify(BODY, sign(BODY, "s3cret"), "s3cret") is SignatureVerdict.VALID


@pytest.mark.parametrize("header", [None, ""])
def test_verify_missing_signature(header):
    assert verify(BODY, header, "s3cret") is SignatureVerdict.MISSING


@pytest.mark.parametrize(
    "header",
    [sign(BODY, "other-secret"), "sha256=" + "0" * 64, "garbage", sign(BODY, "s3cret")[len("sha256="):],
     sign(BODY, "s3cret").replace("sha256=", "sha1=")],
)
def test_verify_invalid_signature(header):
    assert verify(BODY, header, "s3cret") is SignatureVerdict.INVALID


def test_verify_not_checked_without_a_secret():
    assert verify(BODY, None, "") is SignatureVerdict.NOT_CHECKED
    assert verify(BODY, "sha256=whatever", "") is SignatureVerdict.NOT_CHECKED


def test_verify_uses_the_raw_bytes():
    compact = json.dumps(json.loads(BODY), separators=(",", ":")).encode()
    assert compact != BODY and json.loads(compact) == json.loads(BODY)
    header = sign(BODY, "s3cret")
    assert verify(BODY, header, "s3cret") is SignatureVerdict.VALID
    assert verify(compact, header, "s3cret") is SignatureVerdict.INVALID
    assert verify(BODY + b"\n", header, "s3cret") is SignatureVerdict.INVALID
