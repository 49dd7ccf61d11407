"""The JSON API takes JSON only: a body sent as anything but ``application/json`` is refused with
415 before it is read, so a cross-site form (``text/plain``, url-encoded, multipart) can never be
taken for an API call. Form posts to the HTML pages are unaffected."""

from __future__ import annotations

import json
from typing import Any

import pytest

BODY = json.dumps({"display_name": "Mallory"})


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
        "application/json-seq",
        None,
    ],
)
async def test_a_json_endpoint_refuses_a_body_of_another_type(
    patient: Any, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await patient.patch("/api/v1/me", content=BODY, headers=headers)
    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["field"] == "body"
    assert "application/json" in problem["detail"]
    assert (await patient.get("/api/v1/me")).json()["display_name"] == "Test Patient"


async def test_sign_in_refuses_a_text_plain_body(client_factory: Any) -> None:
    """What a cross-site `<form enctype="text/plain">` can send."""
    response = await client_factory().post(
        "/api/v1/auth/login",
        content='{"email": "a@example.org", "password": "x", "pad": "="}',
        headers={"content-type": "text/plain"},
    )
    assert response.status_code == 415


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=utf-8"])
async def test_json_with_or_without_parameters_is_taken(patient: Any, content_type: str) -> None:
    response = await patient.patch(
        "/api/v1/me", content=BODY, headers={"content-type": content_type}
    )
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Mallory"


async def test_a_post_without_a_body_needs_no_content_type(patient: Any) -> None:
    """Making a share code takes an optional body; sent without one, it has no type to check."""
    response = await patient.post("/api/v1/shares")
    assert response.status_code == 201, response.text


async def test_a_bodyless_get_with_a_stray_content_type_is_answered(patient: Any) -> None:
    response = await patient.get("/api/v1/me", headers={"content-type": "text/plain"})
    assert response.status_code == 200
