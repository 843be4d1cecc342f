"""`pharos export DIR --s3 s3://bucket/prefix`: upload a static export to S3 or any
S3-compatible store (R2, MinIO, ...), with boto3 from the `s3` extra.

Only changed files are uploaded (compared by MD5, S3's ETag of a single-part upload), each with
the content type a browser and a feed reader expect; objects under the prefix that the export
no longer has are deleted afterwards, so readers never meet a missing page mid-upload.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
    ".svg": "image/svg+xml",
    ".css": "text/css; charset=utf-8",
}
CACHE_CONTROL = "public, max-age=60"


@dataclass
class UploadReport:
    """Keys written and deleted, and how many were already up to date."""

    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0


def parse_target(target: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix/")."""
    if not target.startswith("s3://") or not target[5:].split("/", 1)[0]:
        raise ValueError(f"{target!r} is not an s3://bucket/prefix address")
    bucket, _, prefix = target[5:].partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def upload_site(directory: Path, target: str, *, client: Any) -> UploadReport:
    """Make `target` hold exactly the files of `directory`; `client` is a boto3 S3 client."""
    bucket, prefix = parse_target(target)
    existing: dict[str, str] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            existing[obj["Key"]] = obj["ETag"].strip('"')
    report = UploadReport()
    keys = set()
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    # Assets and data first, pages last: a page never links to something not there yet.
    for path in sorted(files, key=lambda p: (p.suffix == ".html", p.as_posix())):
        key = prefix + path.relative_to(directory).as_posix()
        keys.add(key)
        body = path.read_bytes()
        if existing.get(key) == hashlib.md5(body, usedforsecurity=False).hexdigest():
            report.unchanged += 1
            continue
        client.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
            CacheControl=CACHE_CONTROL,
        )
        report.uploaded.append(key)
    for key in sorted(set(existing) - keys):
        client.delete_object(Bucket=bucket, Key=key)
        report.deleted.append(key)
    return report
