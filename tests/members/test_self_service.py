"""Member self-service over HTTP: signing in with card + PIN or phone + code, the rate
limit, sessions, a member never reading another's data, consent, QR, export and erasure.
PINs and one-time codes never appear in a response or a log line."""

from __future__ import annotations

import logging

from members.tables import Card, Member, MemberSession, Outbox
from tests.factories import shows
from tests.members.conftest import MEMBER_PIN

PHONE_A, PHONE_B = "13800001111", "13800002222"


async def _card(member_id: int) -> str:
    row = await Card.select(Card.number).where(Card.member == member_id).first()
    return row["number"]


async def _pin_sign_in(client, number: str, pin: str = MEMBER_PIN):
    return await client.post(
        "/api/v1/me/auth/sign-in/pin", json={"card_number": number, "pin": pin}
    )


async def _headers(client, member_id: int, pin: str = MEMBER_PIN) -> dict[str, str]:
    response = await _pin_sign_in(client, await _card(member_id), pin)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def _latest_code() -> str:
    row = await Outbox.select(Outbox.payload).order_by(Outbox.id, ascending=False).first()
    payload = row["payload"]
    if isinstance(payload, str):
        import json

        payload = json.loads(payload)
    return payload["code"]


async def test_sign_in_with_card_and_pin_and_refusals(client, chain, new_member, caplog):
    caplog.set_level(logging.INFO)
    member = await new_member(PHONE_A)
    number = await _card(member)
    ok = await _pin_sign_in(client, number)
    assert ok.status_code == 200 and ok.json()["token"].startswith("mpm_")
    assert not shows(MEMBER_PIN, ok.text)
    wrong = await _pin_sign_in(client, number, "9999")
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_pin"
    typo = number[:-1] + str((int(number[-1]) + 1) % 10)
    bad = await _pin_sign_in(client, typo)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_card_number"
    malformed = await client.post(
        "/api/v1/me/auth/sign-in/pin", json={"card_number": number, "pin": "12"}
    )
    assert malformed.status_code == 400 and "pin" in malformed.text
    extra = await client.post(
        "/api/v1/me/auth/sign-in/pin",
        json={"card_number": number, "pin": MEMBER_PIN, "admin": True},
    )
    assert extra.status_code == 400
    assert await MemberSession.count() == 1
    assert not shows(MEMBER_PIN, caplog.text) and not shows("9999", caplog.text)


async def test_sign_in_attempts_are_rate_limited_per_card(client, chain, new_member):
    member = await new_member(PHONE_A)
    number = await _card(member)
    for _ in range(5):
        assert (await _pin_sign_in(client, number, "0000")).status_code == 403
    limited = await _pin_sign_in(client, number)  # even the right PIN now
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_attempts"
    # Another card is not affected.
    other = await new_member(PHONE_B)
    assert (await _pin_sign_in(client, await _card(other))).status_code == 200


async def test_sign_in_with_phone_code_never_shows_the_code(client, chain, new_member, caplog):
    caplog.set_level(logging.INFO)
    await new_member(PHONE_A)
    sent = await client.post("/api/v1/me/auth/code", json={"phone": PHONE_A})
    assert sent.status_code == 202
    code = await _latest_code()
    assert not shows(code, sent.text) and not shows(code, caplog.text)
    assert "138****1111" in caplog.text and PHONE_A not in caplog.text
    # Unknown phones get the same answer and no message.
    unknown = await client.post("/api/v1/me/auth/code", json={"phone": "13999999999"})
    assert unknown.status_code == 202 and unknown.json() == sent.json()
    assert await Outbox.count() == 1
    wrong = await client.post(
        "/api/v1/me/auth/sign-in/code",
        json={"phone": PHONE_A, "code": "000000" if code != "000000" else "111111"},
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_code"
    ok = await client.post("/api/v1/me/auth/sign-in/code", json={"phone": PHONE_A, "code": code})
    assert ok.status_code == 200 and not shows(code, ok.text)
    again = await client.post("/api/v1/me/auth/sign-in/code", json={"phone": PHONE_A, "code": code})
    assert again.status_code == 401  # used once
    bad_phone = await client.post("/api/v1/me/auth/code", json={"phone": "12345"})
    assert bad_phone.status_code == 400 and bad_phone.json()["code"] == "invalid_phone"
    profile = await client.get(
        "/api/v1/me/profile", headers={"Authorization": f"Bearer {ok.json()['token']}"}
    )
    assert profile.status_code == 200 and not shows(code, profile.text)
    assert not shows(code, caplog.text)


async def test_code_requests_and_guesses_are_rate_limited_per_phone(client, chain, new_member):
    await new_member(PHONE_A)
    for _ in range(5):
        assert (
            await client.post("/api/v1/me/auth/code", json={"phone": PHONE_A})
        ).status_code == 202
    sixth = await client.post("/api/v1/me/auth/code", json={"phone": PHONE_A})
    assert sixth.status_code == 429
    for _ in range(5):
        r = await client.post(
            "/api/v1/me/auth/sign-in/code", json={"phone": PHONE_A, "code": "123456"}
        )
        assert r.status_code in (401, 200)
    code = await _latest_code()
    r = await client.post("/api/v1/me/auth/sign-in/code", json={"phone": PHONE_A, "code": code})
    assert r.status_code == 429


async def test_a_member_reads_only_their_own_data(client, chain, new_member):
    a, b = await new_member(PHONE_A, name="甲"), await new_member(PHONE_B, name="乙")
    headers_a = await _headers(client, a)
    assert (await client.get("/api/v1/me/profile")).status_code == 401
    assert (
        await client.get("/api/v1/me/profile", headers={"Authorization": "Bearer mpm_forged"})
    ).status_code == 401
    profile = (await client.get("/api/v1/me/profile", headers=headers_a)).json()
    assert profile["member_id"] == a and profile["name"] == "甲"
    assert "payment_pin_hash" not in str(profile)
    # B's card cannot be reported lost by A (looks like no such card).
    stolen = await client.post(
        "/api/v1/me/cards/report-lost", headers=headers_a, json={"card_number": await _card(b)}
    )
    assert stolen.status_code == 404
    assert (await Card.select(Card.status).where(Card.member == b))[0]["status"] == "active"
    export = (await client.get("/api/v1/me/export", headers=headers_a)).json()
    assert export["member"]["id"] == a and "乙" not in str(export)
    assert PHONE_B[-4:] not in str(export)
    # Sign-out ends the session.
    assert (await client.post("/api/v1/me/auth/sign-out", headers=headers_a)).status_code == 204
    assert (await client.get("/api/v1/me/profile", headers=headers_a)).status_code == 401


async def test_consent_qr_report_lost_and_tier(client, chain, new_member):
    member = await new_member(PHONE_A, consents=("sms",))
    headers = await _headers(client, member)
    consents = await client.put(
        "/api/v1/me/consents", headers=headers, json={"sms": False, "push": True}
    )
    assert consents.status_code == 200
    assert consents.json()["consents"]["sms"] is None and consents.json()["consents"]["push"]
    bad = await client.put("/api/v1/me/consents", headers=headers, json={"fax": True})
    assert bad.status_code == 400
    qr = (await client.get("/api/v1/me/qr", headers=headers)).json()
    assert qr["token"].startswith("MP1.") and qr["refresh_after_seconds"] < 90
    svg = await client.get("/api/v1/me/qr.svg", headers=headers)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content or b"<ns0:svg" in svg.content
    from members.cards import find_member

    assert (await find_member(qr_token=qr["token"])).member_id == member
    tier = (await client.get("/api/v1/me/tier", headers=headers)).json()
    assert tier["tier_code"] == "STANDARD" and tier["next_tier_code"] == "SILVER"
    lost = await client.post(
        "/api/v1/me/cards/report-lost", headers=headers, json={"card_number": await _card(member)}
    )
    assert lost.status_code == 200 and lost.json()["status"] == "lost"
    no_card = await client.get("/api/v1/me/qr", headers=headers)
    assert no_card.status_code == 409 and no_card.json()["code"] == "no_active_card"


async def test_erasure_anonymises_and_signs_out(client, chain, new_member):
    member = await new_member(PHONE_A, name="张三", email="z@example.com")
    headers = await _headers(client, member)
    refused = await client.post("/api/v1/me/erase", headers=headers, json={"confirm": "yes"})
    assert refused.status_code == 400
    erased = await client.post("/api/v1/me/erase", headers=headers, json={"confirm": "ERASE"})
    assert erased.status_code == 204
    row = (await Member.select().where(Member.id == member))[0]
    assert row["status"] == "erased" and row["name"] != "张三" and PHONE_A not in row["phone"]
    assert row["email"] is None and row["payment_pin_hash"] is None
    assert (await client.get("/api/v1/me/profile", headers=headers)).status_code == 401
    # The phone is free again for a new registration.
    fresh = await new_member(PHONE_A)
    assert fresh != member


async def test_the_phone_page_is_served(client):
    page = await client.get("/me")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "/api/v1/me" in page.text and "会员中心" in page.text


async def test_a_parent_manages_child_cards_from_the_phone(client, chain, new_member, caplog):
    caplog.set_level(logging.INFO)
    parent = await new_member(PHONE_A)
    child = await new_member(PHONE_B, payment_pin="5791")
    headers = await _headers(client, parent)
    child_card = await _card(child)
    wrong = await client.post(
        "/api/v1/me/family",
        headers=headers,
        json={"child_card_number": child_card, "child_pin": "0000", "daily_limit_minor": 0},
    )
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_pin"
    attached = await client.post(
        "/api/v1/me/family",
        headers=headers,
        json={
            "child_card_number": child_card,
            "child_pin": "5791",
            "daily_limit_minor": 2_000,
            "monthly_limit_minor": 10_000,
        },
    )
    assert attached.status_code == 201, attached.text
    assert not shows("5791", attached.text) and not shows("5791", caplog.text)
    seen = (await client.get("/api/v1/me/family", headers=headers)).json()
    assert [c["child_id"] for c in seen["children"]] == [child]
    # The child cannot change the parent's limits for themself.
    child_headers = await _headers(client, child, "5791")
    grab = await client.put(
        f"/api/v1/me/family/{child}/limits",
        headers=child_headers,
        json={"daily_limit_minor": 99_999, "monthly_limit_minor": 99_999},
    )
    assert grab.status_code == 404 and grab.json()["code"] == "family_link_not_found"
    limits = await client.put(
        f"/api/v1/me/family/{child}/limits",
        headers=headers,
        json={"daily_limit_minor": 1_000, "monthly_limit_minor": 5_000},
    )
    assert limits.json()["daily_limit_minor"] == 1_000
    detached = await client.post(f"/api/v1/me/family/{child}/detach", headers=headers)
    assert detached.status_code == 200 and detached.json()["detached_at"]
    from members.family import points_owner

    assert await points_owner(child) == child
