def test_unknown_path_is_a_json_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.json == {"error": {"code": 404, "message": "Not Found"}}


def test_wrong_method_is_a_json_405_with_allow_header(client):
    response = client.delete("/echo")
    assert response.status_code == 405
    assert response.json == {"error": {"code": 405, "message": "Method Not Allowed"}}
    assert "POST" in response.headers["Allow"]


def test_unhandled_exception_is_a_json_500_without_traceback(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("database password is hunter2")

    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json == {"error": {"code": 500, "message": "Internal Server Error"}}
    assert b"hunter2" not in response.data
    assert b"Traceback" not in response.data
