"""`pharos export --s3`: the export uploaded to an S3 API served on loopback (moto's server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from app.cli import cli
from app.publishing.s3 import parse_target, upload_site
from peers.net import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "incidents"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """A boto3 client for an S3 API on loopback with an empty bucket "status", and its
    endpoint. moto keeps its buckets per process, so the bucket is emptied first."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket="status")
        for key in objects(client):
            client.delete_object(Bucket="status", Key=key)
        yield client, endpoint
    finally:
        server.stop()


def objects(client: Any) -> dict[str, bytes]:
    listed = client.list_objects_v2(Bucket="status").get("Contents", [])
    return {
        o["Key"]: client.get_object(Bucket="status", Key=o["Key"])["Body"].read() for o in listed
    }


def test_targets() -> None:
    assert parse_target("s3://status") == ("status", "")
    assert parse_target("s3://status/copy/") == ("status", "copy/")
    for bad in ("status/copy", "s3:///copy", "https://status"):
        with pytest.raises(ValueError, match="s3://bucket/prefix"):
            parse_target(bad)


def test_upload_writes_what_changed_and_deletes_what_went(
    s3: tuple[Any, str], tmp_path: Path
) -> None:
    client, _ = s3
    site = tmp_path / "site"
    (site / "incidents" / "abc").mkdir(parents=True)
    (site / "index.html").write_text("<p>front</p>")
    (site / "incidents" / "abc" / "index.html").write_text("<p>report</p>")
    (site / "history.atom").write_text("<feed/>")
    client.put_object(Bucket="status", Key="copy/gone.html", Body=b"old")
    client.put_object(Bucket="status", Key="elsewhere.txt", Body=b"not ours")

    first = upload_site(site, "s3://status/copy", client=client)
    assert first.uploaded == [
        "copy/history.atom",
        "copy/incidents/abc/index.html",
        "copy/index.html",
    ]
    assert first.deleted == ["copy/gone.html"]
    stored = objects(client)
    assert stored["copy/incidents/abc/index.html"] == b"<p>report</p>"
    assert stored["elsewhere.txt"] == b"not ours"  # outside the prefix
    head = client.head_object(Bucket="status", Key="copy/history.atom")
    assert head["ContentType"] == "application/atom+xml"
    assert client.head_object(Bucket="status", Key="copy/index.html")["ContentType"].startswith(
        "text/html"
    )

    (site / "index.html").write_text("<p>front, changed</p>")
    second = upload_site(site, "s3://status/copy", client=client)
    assert (second.uploaded, second.deleted, second.unchanged) == (["copy/index.html"], [], 2)


def test_export_command_uploads(
    s3: tuple[Any, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, endpoint = s3
    monkeypatch.setenv("PHAROS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PHAROS_TIMEZONE", "Europe/Oslo")
    runner = CliRunner()
    assert runner.invoke(cli, ["sync", "--create-components", str(EXAMPLE)]).exit_code == 0
    out = tmp_path / "site"
    args = ["export", str(out), "--s3", "s3://status/", "--s3-endpoint-url", endpoint]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    files = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert objects(client) == files
    assert f"{len(files)} uploaded, 0 unchanged, 0 deleted" in result.output
    bad = runner.invoke(cli, ["export", str(out), "--s3", "bucket"])
    assert bad.exit_code == 2 and "s3://bucket/prefix" in bad.output
