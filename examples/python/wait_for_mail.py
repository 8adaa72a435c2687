#!/usr/bin/env python3
"""Send a mail to sesinbound, wait until it is processed, and read it back.

The pattern a Python test suite follows: take the cursor, send over SMTP,
long-poll GET /_sesinbound/messages?wait=...&after=CURSOR&to=... (urllib, no
polling loop with sleeps), then read the stored object with boto3 and decrypt
it as SES's readers do: KMS Decrypt of the data key under the x-amz-matdesc
encryption context, then AES-GCM.

    SESINBOUND_URL=http://127.0.0.1:4566 SESINBOUND_SMTP=127.0.0.1:2525 \
        python3 examples/python/wait_for_mail.py

Needs boto3 and cryptography (pip install boto3 cryptography).
"""
import base64
import json
import os
import smtplib
import sys
import urllib.parse
import urllib.request
import uuid

import boto3
from botocore.config import Config
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

URL = os.environ.get("SESINBOUND_URL", "http://127.0.0.1:4566")
SMTP = os.environ.get("SESINBOUND_SMTP", "127.0.0.1:2525")


def get_json(path, **params):
    """GET a /_sesinbound/ path; None on 204 (the long poll's deadline)."""
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{URL}{path}?{query}", timeout=60) as resp:
        if resp.status == 204:
            return None
        return json.load(resp)


def wait_for(timeout="30s", **filters):
    """The first processed message matching filters, or an error at the deadline."""
    page = get_json("/_sesinbound/messages", wait=timeout, **filters)
    if page is None:
        raise TimeoutError(f"no message matching {filters} within {timeout}")
    return page["messages"][0]


def decrypt(s3, kms, bucket, key):
    obj = s3.get_object(Bucket=bucket, Key=key)
    meta = obj["Metadata"]  # boto3 strips x-amz-meta-
    body = obj["Body"].read()
    if "x-amz-key-v2" not in meta:
        return body
    assert meta["x-amz-cek-alg"] == "AES/GCM/NoPadding", meta
    data_key = kms.decrypt(
        CiphertextBlob=base64.b64decode(meta["x-amz-key-v2"]),
        EncryptionContext=json.loads(meta["x-amz-matdesc"]),
    )["Plaintext"]
    return AESGCM(data_key).decrypt(base64.b64decode(meta["x-amz-iv"]), body, None)


def main():
    to = f"py-{uuid.uuid4().hex[:8]}@example.com"
    token = uuid.uuid4().hex

    # Only messages after this cursor count: nothing from earlier runs.
    cursor = get_json("/_sesinbound/messages", limit=1)["cursor"]

    host, port = SMTP.rsplit(":", 1)
    with smtplib.SMTP(host, int(port)) as smtp:
        smtp.sendmail("tests@example.org", [to],
                      f"From: tests@example.org\r\nTo: {to}\r\nSubject: Sign-in code\r\n\r\n"
                      f"Your code is {token}.\r\n")

    record = wait_for(after=cursor, to=to, subject="sign-in")
    assert record["reply"]["code"] == 250, record["reply"]
    action = next(a for r in record["rules"] for a in r["actions"] if a["type"] == "S3Action")

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                    region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=URL, config=Config(s3={"addressing_style": "path"}))
    kms = session.client("kms", endpoint_url=URL)
    message = decrypt(s3, kms, action["bucket"], action["key"]).decode()
    assert f"Your code is {token}." in message, message
    print(record["messageId"], f"s3://{action['bucket']}/{action['key']}", "decrypted OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
