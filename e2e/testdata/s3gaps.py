"""What boto3 users do against the embedded endpoint: checksums with
ChecksumMode ENABLED, object tagging, versions of an unversioned bucket.
Prints one JSON object with what it saw; boto3's warnings (such as
"Response has no supported checksum") go to standard error.

    python s3gaps.py ENDPOINT BUCKET KEY
"""
import json
import logging
import sys

import boto3
from botocore.config import Config

endpoint, bucket, key = sys.argv[1:4]
logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test",
                  config=Config(s3={"addressing_style": "path"}))
got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
body = got["Body"].read()  # botocore validates the checksum while reading
head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
s3.put_object(Bucket=bucket, Key="boto3/crc32", Body=b"hello checksums", ChecksumAlgorithm="CRC32")
crc32 = s3.get_object(Bucket=bucket, Key="boto3/crc32", ChecksumMode="ENABLED")
crc32["Body"].read()
s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [{"Key": "stage", "Value": "test"}, {"Key": "lang", "Value": "ja"}]})
tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
versions = s3.list_object_versions(Bucket=bucket, Prefix=key)
print(json.dumps({
    "size": len(body),
    "get_crc64nvme": got.get("ChecksumCRC64NVME"),
    "get_type": got.get("ChecksumType"),
    "head_crc64nvme": head.get("ChecksumCRC64NVME"),
    "crc32": crc32.get("ChecksumCRC32"),
    "tags": sorted((t["Key"], t["Value"]) for t in tags),
    "versions": [(v["Key"], v["VersionId"], v["IsLatest"]) for v in versions.get("Versions", [])],
}))
