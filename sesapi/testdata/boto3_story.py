"""The SES API story through boto3, driven by sesapi's TestBoto3.

usage: boto3_story.py build|restarted AWS_URL SMTP_ADDR

The endpoint comes from AWS_ENDPOINT_URL_SES and AWS_ENDPOINT_URL_S3, as a
user would set them; AWS_URL is only used to read the message record.
"""
import json
import smtplib
import sys
import urllib.request

import boto3
from botocore.exceptions import ClientError

phase, aws_url, smtp_addr = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = smtp_addr.rsplit(":", 1)
ses = boto3.client("ses")
s3 = boto3.client("s3")
KEY = "arn:aws:kms:us-east-1:000000000000:alias/aws/ses"


def expect(code, fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"{fn.__name__}: got {got}, want {code}"
        return e
    raise AssertionError(f"{fn.__name__} succeeded, want {code}")


def rule(name, prefix):
    return {"Name": name, "Enabled": True, "Recipients": [],
            "Actions": [{"S3Action": {"BucketName": "py-mail", "ObjectKeyPrefix": prefix, "KmsKeyArn": KEY}}]}


def send(subject):
    with smtplib.SMTP(host, int(port)) as c:
        c.sendmail("sender@example.org", ["inbox@example.com"],
                   f"From: sender@example.org\r\nSubject: {subject}\r\n\r\n{subject}\r\n")
    return last_id()


def last_id():
    with urllib.request.urlopen(aws_url + "/_sesinbound/messages?limit=1") as r:
        return json.load(r)["messages"][-1]["messageId"]


def record(msg_id):
    with urllib.request.urlopen(aws_url + "/_sesinbound/messages/" + msg_id) as r:
        return json.load(r)


def stored(key, rule_name):
    head = s3.head_object(Bucket="py-mail", Key=key)
    matdesc = json.loads(head["Metadata"]["x-amz-matdesc"])
    assert matdesc["aws:ses:rule-name"] == rule_name, matdesc
    assert head["Metadata"]["x-amz-wrap-alg"] == "kms", head["Metadata"]


if phase == "build":
    s3.create_bucket(Bucket="py-mail")
    ses.create_receipt_rule_set(RuleSetName="py")
    expect("AlreadyExists", ses.create_receipt_rule_set, RuleSetName="py")
    ses.create_receipt_rule(RuleSetName="py", Rule=rule("a", "a/"))
    ses.create_receipt_rule(RuleSetName="py", After="a", Rule=rule("b", "b/"))
    expect("RuleDoesNotExist", ses.create_receipt_rule, RuleSetName="py", After="zz", Rule=rule("c", "c/"))
    e = expect("InvalidS3Configuration", ses.create_receipt_rule, RuleSetName="py",
               Rule={**rule("d", "d/"), "Actions": [{"S3Action": {"BucketName": "no-such-bucket"}}]})
    assert not e.response["Error"]["Message"].startswith("Could not write to bucket"), e.response
    expect("RuleSetDoesNotExist", ses.describe_receipt_rule_set, RuleSetName="nope")
    ses.set_active_receipt_rule_set(RuleSetName="py")
    expect("CannotDelete", ses.delete_receipt_rule_set, RuleSetName="py")
    active = ses.describe_active_receipt_rule_set()
    assert active["Metadata"]["Name"] == "py", active
    assert [r["Name"] for r in active["Rules"]] == ["a", "b"], active["Rules"]
    assert "Recipients" not in active["Rules"][0], active["Rules"][0]
    assert active["Rules"][0]["TlsPolicy"] == "Optional" and active["Rules"][0]["ScanEnabled"] is False

    msg = send("py one")
    stored("a/" + msg, "a")
    stored("b/" + msg, "b")
    assert record(msg)["ruleSet"] == "py"

    ses.update_receipt_rule(RuleSetName="py", Rule=rule("a", "a2/"))
    stored("a2/" + send("py two"), "a")

    ses.reorder_receipt_rule_set(RuleSetName="py", RuleNames=["b", "a"])
    assert [r["name"] for r in record(send("py three"))["rules"]] == ["b", "a"]
    expect("InvalidParameterValue", ses.reorder_receipt_rule_set, RuleSetName="py", RuleNames=["b"])

    ses.set_active_receipt_rule_set()
    assert "Metadata" not in ses.describe_active_receipt_rule_set()
    try:
        send("refused")
        raise AssertionError("mail accepted with receiving off")
    except smtplib.SMTPRecipientsRefused as e:
        code = list(e.recipients.values())[0][0]
        assert code == 550, e.recipients
    ses.set_active_receipt_rule_set(RuleSetName="py")

    ses.create_receipt_filter(Filter={"Name": "f", "IpFilter": {"Policy": "Block", "Cidr": "192.0.2.0/24"}})
    ses.verify_domain_identity(Domain="example.com")
    ses.get_waiter("identity_exists").wait(Identities=["example.com"])
    print("built:", json.dumps(ses.describe_active_receipt_rule_set()["Rules"], default=str))
elif phase == "restarted":
    active = ses.describe_active_receipt_rule_set()
    assert active["Metadata"]["Name"] == "py", active
    assert [r["Name"] for r in active["Rules"]] == ["b", "a"], active["Rules"]
    assert active["Rules"][1]["Actions"][0]["S3Action"]["ObjectKeyPrefix"] == "a2/"
    assert [f["Name"] for f in ses.list_receipt_filters()["Filters"]] == ["f"]
    assert ses.list_identities()["Identities"] == ["example.com"]
    stored("a2/" + send("py restarted"), "a")
    print("restarted: same configuration, mail flows")
else:
    sys.exit("unknown phase " + phase)
