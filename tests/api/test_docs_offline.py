"""OpenAPI docs are served with vendored Swagger UI: no CDN at run time."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fundgraph.api.app import create_app
from fundgraph.core.settings import Settings


def test_docs_page_uses_only_local_assets(tmp_path):
    client = TestClient(create_app(Settings(home=tmp_path)))
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "fundgraph"


def test_unknown_docs_asset_is_a_404_in_the_error_shape(tmp_path):
    client = TestClient(create_app(Settings(home=tmp_path)))
    r = client.get("/docs/assets/../../etc/passwd")
    assert r.status_code == 404
    r = client.get("/docs/assets/secret.txt")
    assert r.status_code == 404 and r.json()["error"]["status"] == 404
