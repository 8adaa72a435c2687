"""Decrypts S3 objects with the Amazon S3 Encryption Client for Python,
configured as a Python consumer of SES mail configures it: a KMS keyring with
legacy wrapping algorithms enabled (SES writes the legacy "kms" wrap) and a
commitment policy that allows decrypting without key commitment (SES
encrypts with AES-GCM, no commitment).

    python decrypt.py POLICY S3_URL KMS_URL KMS_KEY_ID OUT_DIR BUCKET KEY...

POLICY is a CommitmentPolicy name, "-" for REQUIRE_ENCRYPT_ALLOW_DECRYPT or
"default" for the client's default. For the i-th KEY (from 0) it writes the
plaintext to OUT_DIR/i.out, or "Class: message" of the exception chain to
OUT_DIR/i.err. Credentials come from AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, the region from AWS_REGION.
"""

import os
import sys

import boto3
from botocore.config import Config
from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
from s3_encryption.materials.kms_keyring import KmsKeyring
from s3_encryption.materials.materials import CommitmentPolicy


def main(argv):
    if len(argv) < 7:
        sys.exit("usage: decrypt.py POLICY S3_URL KMS_URL KMS_KEY_ID OUT_DIR BUCKET KEY...")
    policy, s3_url, kms_url, key_id, out_dir, bucket = argv[:6]
    region = os.environ.get("AWS_REGION", "us-east-1")
    s3 = boto3.client("s3", endpoint_url=s3_url, region_name=region,
                      config=Config(s3={"addressing_style": "path"}))
    kms = boto3.client("kms", endpoint_url=kms_url, region_name=region)
    keyring = KmsKeyring(kms_client=kms, kms_key_id=key_id, enable_legacy_wrapping_algorithms=True)
    if policy == "default":
        config = S3EncryptionClientConfig(keyring=keyring)
    else:
        name = "REQUIRE_ENCRYPT_ALLOW_DECRYPT" if policy == "-" else policy
        config = S3EncryptionClientConfig(keyring=keyring, commitment_policy=CommitmentPolicy[name])
    client = S3EncryptionClient(wrapped_s3_client=s3, config=config)
    for i, key in enumerate(argv[6:]):
        try:
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as e:  # every failure is the finding to report
            chain, seen = [], e
            while seen is not None:
                chain.append(f"{type(seen).__module__}.{type(seen).__name__}: {seen}")
                seen = seen.__cause__ or seen.__context__
            with open(os.path.join(out_dir, f"{i}.err"), "w") as f:
                f.write("\n".join(chain) + "\n")
            continue
        with open(os.path.join(out_dir, f"{i}.out"), "wb") as f:
            f.write(body)


if __name__ == "__main__":
    main(sys.argv[1:])
