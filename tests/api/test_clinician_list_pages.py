"""The clinician's patient list, a page at a time: keyset pages in name order that neither
repeat nor skip anyone across their boundaries, going forward or back; the access check and
the audit trail hold on every page; the HTML list links its pages. Care teams' patients are on
the list of the members whose roles read clinical data (issue 15), in the same pages."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from server import db
from server.services.clinic import LIST_PAGE
from server.store import clinics as clinic_store
from tests.helpers.accounts import make_clinician
from tests.helpers.clinics import make_clinic, make_member
from tests.helpers.sharing import audit_rows

URL = "/api/v1/clinician/patients"
# Names repeat, differ only in case, and sort differently by case: the order must be total.
NAMES = ["bea", "Ana", "Bea", "carl", "Bea", "dora", "Ana", "eve"]


async def shared_with(pool: db.Pool, clinician_id: str, names: list[str]) -> list[str]:
    """Patients with these names, each with an active share to the clinician (as if they had
    given a code and it was accepted). Their ids, in the order of ``names``."""
    now = datetime.now(UTC)
    ids = []
    async with db.transaction(pool) as conn:
        for name in names:
            patient_id = await conn.fetchval(
                """INSERT INTO users (email, role, password_hash, display_name, timezone)
                   VALUES ($1, 'patient', 'not-a-hash', $2, 'America/New_York') RETURNING id""",
                f"listed-{uuid.uuid4().hex[:12]}@example.org",
                name,
            )
            await conn.execute(
                """INSERT INTO shares (patient_id, code_hash, expires_at, clinician_id,
                                       accepted_at)
                   VALUES ($1, $2, $3, $4, $5)""",
                patient_id,
                secrets.token_bytes(32),
                now + timedelta(days=1),
                uuid.UUID(clinician_id),
                now,
            )
            ids.append(str(patient_id))
    return ids


async def expected_order(pool: db.Pool, ids: list[str]) -> list[str]:
    # The database's own collation decides the name order; ask it rather than guess.
    async with db.connection(pool) as conn:
        rows = await conn.fetch(
            """SELECT id::text FROM users WHERE id = ANY($1::uuid[])
                ORDER BY lower(display_name), id""",
            [uuid.UUID(i) for i in ids],
        )
    return [r["id"] for r in rows]


async def page(clinician: Any, **params: Any) -> dict[str, Any]:
    response = await clinician.get(URL, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids_of(body: dict[str, Any]) -> list[str]:
    return [r["patient"]["id"] for r in body["items"]]


async def test_pages_forward_and_back_cover_the_list_once_in_name_order(
    clinician: Any, pool: db.Pool
) -> None:
    ids = await shared_with(pool, clinician.me["id"], NAMES)
    order = await expected_order(pool, ids)

    pages = [await page(clinician, limit=3)]
    assert pages[0]["previous"] is None
    while pages[-1]["next"] is not None:
        pages.append(await page(clinician, limit=3, cursor=pages[-1]["next"]))
    # Nobody on these pages has a flag: within each, name order shows as it is.
    assert [ids_of(p) for p in pages] == [order[0:3], order[3:6], order[6:8]]
    assert all(p["previous"] is not None for p in pages[1:])

    back = [await page(clinician, limit=3, cursor=pages[-1]["previous"])]
    while back[-1]["previous"] is not None:
        back.append(await page(clinician, limit=3, cursor=back[-1]["previous"]))
    assert [ids_of(p) for p in back] == [order[3:6], order[0:3]]
    assert back[-1]["next"] is not None
    assert ids_of(await page(clinician, limit=3, cursor=back[-1]["next"])) == order[3:6]

    whole = await page(clinician)
    assert ids_of(whole) == order and whole["next"] is None and whole["previous"] is None


async def test_a_page_boundary_holds_while_the_list_changes_before_it(
    clinician: Any, pool: db.Pool
) -> None:
    ids = await shared_with(pool, clinician.me["id"], ["Finn", "Gus", "Hal", "Ida"])
    first = await page(clinician, limit=2)
    assert [r["patient"]["display_name"] for r in first["items"]] == ["Finn", "Gus"]
    # A patient who sorts before the boundary joins, one on the first page leaves: the next
    # page is still the patients after Gus, with nobody repeated or skipped.
    await shared_with(pool, clinician.me["id"], ["Abe"])
    async with db.transaction(pool) as conn:
        await conn.execute("UPDATE shares SET revoked_at = now() WHERE patient_id = $1", ids[0])
    second = await page(clinician, limit=2, cursor=first["next"])
    assert [r["patient"]["display_name"] for r in second["items"]] == ["Hal", "Ida"]
    assert second["next"] is None


async def test_flagged_patients_come_first_within_their_page(clinician: Any, pool: db.Pool) -> None:
    ids = await shared_with(pool, clinician.me["id"], ["Kim", "Lou", "Max"])
    lou = ids[1]
    async with db.transaction(pool) as conn:
        # No check-in since the share began a week ago: a "no check-in" flag on Lou alone.
        await conn.execute(
            "UPDATE users SET created_at = now() - interval '7 days' WHERE id = $1",
            uuid.UUID(lou),
        )
    body = await page(clinician, limit=3)
    assert ids_of(body)[0] == lou
    assert [f["kind"] for f in body["items"][0]["flags"]] == ["no_checkin"]
    assert sorted(ids_of(body)) == sorted(ids)


async def test_each_page_audits_only_its_own_patients(clinician: Any, pool: db.Pool) -> None:
    ids = await shared_with(pool, clinician.me["id"], ["Nia", "Oli", "Pia"])
    order = await expected_order(pool, ids)
    first = await page(clinician, limit=2)
    for patient_id in order[:2]:
        assert len(await audit_rows(pool, patient_id, "view_patient_list")) == 1
    assert await audit_rows(pool, order[2], "view_patient_list") == []
    await page(clinician, limit=2, cursor=first["next"])
    for patient_id in order:
        assert len(await audit_rows(pool, patient_id, "view_patient_list")) == 1
    [row] = await audit_rows(pool, order[2], "view_patient_list")
    assert str(row["actor_id"]) == clinician.me["id"]


async def test_a_cursor_opens_no_one_elses_patients(
    clinician: Any, client_factory: Any, patient: Any, pool: db.Pool
) -> None:
    other = client_factory()
    other.me = await make_clinician(pool, other, "Dr. Other")
    theirs = await shared_with(pool, other.me["id"], ["Quinn", "Rae", "Sol"])
    mine = await shared_with(pool, clinician.me["id"], ["Quinn"])
    # A cursor naming the other clinician's patient is no place in this clinician's list.
    for cursor in (f"a{uuid.UUID(theirs[0]).hex}", f"b{uuid.UUID(theirs[2]).hex}"):
        response = await clinician.get(URL, params={"cursor": cursor})
        assert response.status_code == 400, response.text
        assert response.json()["field"] == "cursor"
    body = await page(clinician)
    assert set(ids_of(body)) == set(mine)
    for patient_id in theirs:
        assert await audit_rows(pool, patient_id, "view_patient_list") == []
    # A patient may not see anyone's list, with or without a cursor.
    for params in ({}, {"cursor": f"a{uuid.UUID(mine[0]).hex}"}):
        assert (await patient.get(URL, params=params)).status_code == 403


async def test_a_page_after_a_patient_who_left_asks_to_start_again(
    clinician: Any, pool: db.Pool
) -> None:
    ids = await shared_with(pool, clinician.me["id"], ["Tia", "Uma", "Vic"])
    first = await page(clinician, limit=1)
    async with db.transaction(pool) as conn:
        await conn.execute("UPDATE shares SET revoked_at = now() WHERE patient_id = $1", ids[0])
    response = await clinician.get(URL, params={"limit": 1, "cursor": first["next"]})
    assert response.status_code == 400
    assert response.json()["field"] == "cursor"
    assert ids[0] not in response.text


async def test_bad_page_parameters_name_the_field(clinician: Any) -> None:
    for params, field in (
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "x" * 33}, "cursor"),
        ({"cursor": "c" + "0" * 32}, "cursor"),
        ({"cursor": "a" + "0" * 41}, "cursor"),
    ):
        response = await clinician.get(URL, params=params)
        assert 400 <= response.status_code < 500, (params, response.text)
        assert response.json()["field"] == field, (params, response.text)


async def test_the_list_page_links_to_the_next_and_back(clinician: Any, pool: db.Pool) -> None:
    ids = await shared_with(pool, clinician.me["id"], [f"Walker {n:03d}" for n in range(101)])
    order = await expected_order(pool, ids)

    first = await clinician.get("/clinician")
    assert first.status_code == 200
    listed = re.findall(r'<a href="/clinician/patients/([0-9a-f-]{36})">', first.text)
    assert listed == order[:LIST_PAGE]
    assert 'rel="prev"' not in first.text
    [next_url] = re.findall(
        r'<a href="(/clinician\?cursor=[ab][0-9a-f]{32})" rel="next"', first.text
    )

    second = await clinician.get(next_url)
    assert second.status_code == 200
    assert re.findall(r'<a href="/clinician/patients/([0-9a-f-]{36})">', second.text) == [
        order[LIST_PAGE]
    ]
    assert 'rel="next"' not in second.text
    [back_url] = re.findall(
        r'<a href="(/clinician\?cursor=[ab][0-9a-f]{32})" rel="prev"', second.text
    )
    back = await clinician.get(back_url)
    assert (
        re.findall(r'<a href="/clinician/patients/([0-9a-f-]{36})">', back.text)
        == order[:LIST_PAGE]
    )
    for patient_id in order:
        assert len(await audit_rows(pool, patient_id, "view_patient_list")) >= 1


async def test_a_stale_page_link_opens_the_list_from_the_top(clinician: Any, pool: db.Pool) -> None:
    ids = await shared_with(pool, clinician.me["id"], ["Xia", "Yan"])
    async with db.transaction(pool) as conn:
        await conn.execute("UPDATE shares SET revoked_at = now() WHERE patient_id = $1", ids[0])
    for cursor in (f"a{uuid.UUID(ids[0]).hex}", "not-a-cursor"):
        response = await clinician.get("/clinician", params={"cursor": cursor})
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/clinician"


async def shared_with_team(pool: db.Pool, clinic_id: uuid.UUID, names: list[str]) -> list[str]:
    """Patients with these names, each sharing with the clinic (a team share, as their consent
    would start it). Their ids, in the order of ``names``."""
    ids = []
    async with db.transaction(pool) as conn:
        for name in names:
            patient_id = await conn.fetchval(
                """INSERT INTO users (email, role, password_hash, display_name, timezone)
                   VALUES ($1, 'patient', 'not-a-hash', $2, 'Europe/Lisbon') RETURNING id""",
                f"team-{uuid.uuid4().hex[:12]}@example.org",
                name,
            )
            await clinic_store.start_team_share(conn, clinic_id, patient_id)
            ids.append(str(patient_id))
    return ids


async def test_a_care_teams_patients_are_on_the_list_of_members_who_read_clinical_data(
    client_factory: Any, pool: db.Pool
) -> None:
    clinic, elsewhere = await make_clinic(pool, "Harbour Clinic"), await make_clinic(pool, "Other")
    nurse, front_desk, stranger = client_factory(), client_factory(), client_factory()
    nurse.me = await make_member(pool, nurse, clinic, ["nurse"], "Nell Nurse")
    front_desk.me = await make_member(pool, front_desk, clinic, ["front_desk"], "Fran Desk")
    stranger.me = await make_member(pool, stranger, elsewhere, ["nurse", "prescriber"], "Stan")
    # Three patients share with the nurse, two with the team; one of the three with both.
    own = await shared_with(pool, nurse.me["id"], ["Cy", "ana", "Ben"])
    team = await shared_with_team(pool, clinic, ["bo", "Dee"])
    async with db.transaction(pool) as conn:
        await clinic_store.start_team_share(conn, clinic, uuid.UUID(own[0]))
    order = await expected_order(pool, own + team)

    for size in (1, 2, 3):
        pages = [await page(nurse, limit=size)]
        while pages[-1]["next"] is not None:
            pages.append(await page(nurse, limit=size, cursor=pages[-1]["next"]))
        assert [i for p in pages for i in ids_of(p)] == order, size
        back = [await page(nurse, limit=size, cursor=pages[-1]["previous"])]
        while back[-1]["previous"] is not None:
            back.append(await page(nurse, limit=size, cursor=back[-1]["previous"]))
        before_last = order[: len(order) - len(ids_of(pages[-1]))]
        assert [i for p in reversed(back) for i in ids_of(p)] == before_last, size
    # Their lines open: the team patient's summary too.
    for patient_id in team:
        assert (await nurse.get(f"/api/v1/patients/{patient_id}/summary")).status_code == 200

    # The front desk of the same clinic reads no clinical data: none of them on its list, and a
    # cursor naming one is no place in it. Nor another clinic's nurse and prescriber.
    for member in (front_desk, stranger):
        assert ids_of(await page(member)) == []
        response = await member.get(URL, params={"cursor": f"a{uuid.UUID(team[0]).hex}"})
        assert response.status_code == 400 and response.json()["field"] == "cursor"
    for patient_id in team:
        rows = await audit_rows(pool, patient_id, "view_patient_list")
        assert rows and {str(r["actor_id"]) for r in rows} == {nurse.me["id"]}

    # The team share withdrawn, its patients leave the nurse's list; the patient who also shares
    # with the nurse stays, once.
    async with db.transaction(pool) as conn:
        await conn.execute(
            "UPDATE clinic_shares SET revoked_at = now() WHERE clinic_id = $1", clinic
        )
    assert ids_of(await page(nurse)) == await expected_order(pool, own)
