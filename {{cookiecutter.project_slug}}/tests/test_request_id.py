import pytest


def test_response_echoes_a_sane_request_id(client):
    response = client.get("/", headers={"X-Request-ID": "abc-123.def:9"})
    assert response.headers["X-Request-ID"] == "abc-123.def:9"


@pytest.mark.parametrize("bad_id", ["has space", "x" * 129, "<script>", "é"])
def test_insane_request_id_is_replaced(client, bad_id):
    response = client.get("/", headers={"X-Request-ID": bad_id})
    new_id = response.headers["X-Request-ID"]
    assert new_id != bad_id
    assert len(new_id) == 32


def test_request_without_id_gets_a_fresh_one_each_time(client):
    first = client.get("/").headers["X-Request-ID"]
    second = client.get("/").headers["X-Request-ID"]
    assert first != second


def test_error_responses_carry_a_request_id(client):
    assert client.get("/missing").headers["X-Request-ID"]
    assert client.get("/slow?seconds=-1").headers["X-Request-ID"]
