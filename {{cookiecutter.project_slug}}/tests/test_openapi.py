"""/openapi.json describes /items from the same models that validate it."""


def test_openapi_describes_every_items_operation(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert document["openapi"].startswith("3.1")
    operations = {
        (path, method) for path, methods in document["paths"].items() for method in methods
    }
    assert operations == {
        ("/items", "get"),
        ("/items", "post"),
        ("/items/{item_id}", "get"),
        ("/items/{item_id}", "patch"),
        ("/items/{item_id}", "delete"),
{%- if cookiecutter.auth == "oidc" %}
        ("/me", "get"),
{%- endif %}
    }


def test_openapi_request_and_response_schemas_come_from_the_models(client):
    document = client.get("/openapi.json").json
    schemas = document["components"]["schemas"]
    create = document["paths"]["/items"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ItemCreate"
    }
    assert schemas["ItemCreate"]["properties"]["name"]["maxLength"] == 200
    assert schemas["ItemCreate"]["additionalProperties"] is False
    assert set(create["responses"]) >= {"201", "409", "415", "422"}
    parameters = {p["name"]: p for p in document["paths"]["/items"]["get"]["parameters"]}
    limit = parameters["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 100)
