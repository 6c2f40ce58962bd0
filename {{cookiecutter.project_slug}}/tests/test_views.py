import pytest

INTERFACE = "{{ cookiecutter.interface }}"


def test_hello_names_the_project_and_interface(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.json == {
        "message": "Hello from {{ cookiecutter.project_name }}!",
        "interface": INTERFACE,
    }


def test_slow_view_sleeps_for_the_requested_seconds(client):
    response = client.get("/slow?seconds=0.01")
    assert response.status_code == 200
    assert response.json == {"slept": 0.01, "interface": INTERFACE}


def test_slow_view_accepts_the_configured_maximum(client):
    response = client.get("/slow?seconds=0")
    assert response.status_code == 200
    assert client.get("/slow?seconds=2").status_code == 200


@pytest.mark.parametrize("seconds", ["-1", "abc", "nan", "inf", "-inf", "1e9", "2.01", ""])
def test_slow_view_rejects_bad_seconds(client, seconds):
    response = client.get("/slow", query_string={"seconds": seconds})
    assert response.status_code == 400
    assert response.json["error"]["code"] == 400
    assert "seconds must be a number from 0 to 2" in response.json["error"]["message"]


def test_echo_returns_the_posted_object(client):
    payload = {"order": 42, "items": ["a", "b"], "note": None}
    response = client.post("/echo", json=payload)
    assert response.status_code == 200
    assert response.json == payload


def test_echo_rejects_malformed_json(client):
    response = client.post("/echo", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["code"] == 400


@pytest.mark.parametrize("body", ["[1, 2]", "42", '"text"', "null"])
def test_echo_rejects_json_that_is_not_an_object(client, body):
    response = client.post("/echo", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["error"]["message"] == "the request body must be a JSON object"


def test_echo_rejects_a_body_over_the_limit(client):
    response = client.post("/echo", data="x" * 2048, content_type="application/json")
    assert response.status_code == 413
    assert response.json == {"error": {"code": 413, "message": "Request Entity Too Large"}}


def test_echo_rejects_another_content_type(client):
    response = client.post("/echo", data="a=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json == {"error": {"code": 415, "message": "send the body as application/json"}}
