"""A real S3 API for the media storage tests: moto's server on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto.server import ThreadedMotoServer

from devdb.launcher import free_port

BUCKET = "inbox-media"
REGION = "eu-west-1"


@dataclass(frozen=True)
class S3Server:
    url: str
    bucket: str = BUCKET
    region: str = REGION


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """moto's S3 server (started here, stopped after) with an empty bucket; the AWS credentials are
    the usual environment variables, as in production."""
    for name, value in (("AWS_ACCESS_KEY_ID", "test-key"), ("AWS_SECRET_ACCESS_KEY", "test-secret"),
                        ("AWS_SESSION_TOKEN", "test-session")):
        monkeypatch.setenv(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=url, region_name=REGION).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield S3Server(url)
    server.stop()
