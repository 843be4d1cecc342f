"""Security headers on pages and API responses."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_pages_get_a_strict_csp_and_the_usual_headers(client: TestClient) -> None:
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    for response in (page, client.get("/api/v1/components"), client.get("/nope")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "content-security-policy" not in client.get("/healthz").headers
