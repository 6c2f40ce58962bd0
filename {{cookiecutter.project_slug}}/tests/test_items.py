"""/items through the test client: the resource's contract, on a fresh schema per test."""

from datetime import datetime

import pytest

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def app(app):
    # Room for the longest valid item and then some.
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024
    return app


def create(client, name="Widget", **fields):
    response = client.post("/items", json={"name": name, **fields})
    assert response.status_code == 201, response.json
    return response.json


def error_fields(response) -> list[str]:
    return [problem["field"] for problem in response.json["error"]["fields"]]


def test_create_answers_201_with_the_item_and_its_location(client):
    response = client.post("/items", json={"name": "Widget", "description": "Blue"})
    assert response.status_code == 201
    item = response.json
    assert item["name"] == "Widget"
    assert item["description"] == "Blue"
    assert isinstance(item["id"], int)
    assert item["created_at"] == item["updated_at"]
    assert response.headers["Location"].endswith(f"/items/{item['id']}")
    assert client.get(f"/items/{item['id']}").json == item


def test_create_trims_the_name_and_allows_no_description(client):
    item = create(client, name="  Widget  ")
    assert (item["name"], item["description"]) == ("Widget", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 42}, "name"),
        ({"name": None}, "name"),
        ({"name": "Widget", "description": "x" * 2001}, "description"),
        ({"name": "Widget", "description": 7}, "description"),
        ({"name": "Wid\u0000get"}, "name"),
        ({"name": "Widget", "description": "Blue\u0000"}, "description"),
        ({"name": "Widget", "id": 99}, "id"),
        ({"name": "Widget", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"name": "Widget", "colour": "blue"}, "colour"),
        (["Widget"], "body"),
    ],
)
def test_create_refuses_invalid_input_naming_the_field(client, body, field):
    response = client.post("/items", json=body)
    assert response.status_code == 422
    assert response.json["error"]["code"] == 422
    assert field in error_fields(response)


def test_a_nul_character_is_refused_in_words_of_our_own(client):
    # PostgreSQL cannot store U+0000 in text: refused before any database sees it.
    response = client.post("/items", json={"name": "Wid\u0000get"})
    assert response.status_code == 422
    message = "must not contain the NUL character (\\u0000)"
    assert response.json["error"]["fields"] == [{"field": "name", "message": message}]


def test_create_accepts_the_longest_name(client):
    assert create(client, name="x" * 200)["name"] == "x" * 200


def test_create_refuses_a_body_that_is_not_json(client):
    response = client.post("/items", data="name=Widget", content_type="text/plain")
    assert response.status_code == 415
    assert response.json["error"]["code"] == 415


def test_create_refuses_malformed_json(client):
    response = client.post("/items", data="{oops", content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == 400


def test_a_duplicate_name_is_a_conflict(client):
    create(client, name="Widget")
    response = client.post("/items", json={"name": "Widget"})
    assert response.status_code == 409
    assert "Widget" in response.json["error"]["message"]


@pytest.mark.parametrize("item_id", ["12345", "0", "2147483647"])
def test_a_missing_item_is_404_json(client, item_id):
    response = client.get(f"/items/{item_id}")
    assert response.status_code == 404
    assert response.json["error"]["code"] == 404


@pytest.mark.parametrize("item_id", ["-1", "abc", "2147483648", "99999999999999999999"])
def test_an_impossible_id_is_404_json(client, item_id):
    response = client.get(f"/items/{item_id}")
    assert response.status_code == 404
    assert response.json["error"]["code"] == 404


def test_list_pages_through_every_item_in_order(client):
    created = [create(client, name=f"Item {number:02}")["id"] for number in range(25)]
    first = client.get("/items").json
    assert [item["id"] for item in first["items"]] == created[:20]
    assert first["next_cursor"]
    second = client.get("/items", query_string={"cursor": first["next_cursor"]}).json
    assert [item["id"] for item in second["items"]] == created[20:]
    assert second["next_cursor"] is None


def test_list_honours_the_limit(client):
    for number in range(3):
        create(client, name=f"Item {number}")
    page = client.get("/items?limit=2").json
    assert len(page["items"]) == 2
    rest = client.get("/items", query_string={"limit": 2, "cursor": page["next_cursor"]}).json
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None


def test_an_empty_list_has_no_next_page(client):
    assert client.get("/items").json == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "YWZ0ZXI6LTE"}, "cursor"),  # after:-1
    ],
)
def test_list_refuses_a_bad_query_naming_the_field(client, query, field):
    response = client.get("/items", query_string=query)
    assert response.status_code == 422
    assert field in error_fields(response)


def test_a_bad_cursor_is_refused_in_words_of_our_own(client):
    response = client.get("/items", query_string={"cursor": "not-a-cursor"})
    assert response.json["error"]["fields"] == [
        {"field": "cursor", "message": "cursor is not one this API handed out"}
    ]


def test_patch_changes_only_the_fields_sent(client):
    item = create(client, name="Widget", description="Blue")
    response = client.patch(f"/items/{item['id']}", json={"description": "Red"})
    assert response.status_code == 200
    changed = response.json
    assert (changed["name"], changed["description"]) == ("Widget", "Red")
    assert changed["created_at"] == item["created_at"]
    assert datetime.fromisoformat(changed["updated_at"]) > datetime.fromisoformat(
        item["updated_at"]
    )
    assert client.get(f"/items/{item['id']}").json == changed


def test_an_empty_patch_changes_nothing_not_even_updated_at(client):
    item = create(client)
    response = client.patch(f"/items/{item['id']}", json={})
    assert response.status_code == 200
    assert response.json == item
    assert client.patch("/items/12345", json={}).status_code == 404


def test_patch_can_clear_the_description_but_not_the_name(client):
    item = create(client, description="Blue")
    cleared = client.patch(f"/items/{item['id']}", json={"description": None})
    assert cleared.json["description"] is None
    response = client.patch(f"/items/{item['id']}", json={"name": None})
    assert response.status_code == 422
    assert error_fields(response) == ["name"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"id": 5}, "id"),
        ({"name": "x" * 201}, "name"),
        ({"description": "\u0000"}, "description"),
    ],
)
def test_patch_refuses_invalid_input(client, body, field):
    item = create(client)
    response = client.patch(f"/items/{item['id']}", json=body)
    assert response.status_code == 422
    assert field in error_fields(response)


def test_patch_to_a_taken_name_is_a_conflict(client):
    create(client, name="Widget")
    other = create(client, name="Gadget")
    response = client.patch(f"/items/{other['id']}", json={"name": "Widget"})
    assert response.status_code == 409
    assert client.get(f"/items/{other['id']}").json["name"] == "Gadget"


def test_patch_of_a_missing_item_is_404(client):
    assert client.patch("/items/999", json={"name": "Widget"}).status_code == 404


def test_delete_answers_204_then_the_item_is_gone(client):
    item = create(client)
    response = client.delete(f"/items/{item['id']}")
    assert response.status_code == 204
    assert response.data == b""
    assert client.get(f"/items/{item['id']}").status_code == 404
    assert client.delete(f"/items/{item['id']}").status_code == 404


def test_the_slow_query_holds_the_database_for_the_requested_time(client):
    response = client.get("/slow-query?seconds=0.01")
    assert response.status_code == 200
    assert response.json["slept"] == 0.01


def test_the_slow_query_refuses_bad_seconds(client):
    assert client.get("/slow-query?seconds=-1").status_code == 400
