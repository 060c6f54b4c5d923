"""Writes the seed inputs of every fuzz target into tests/fuzz/corpus/<target>/:
proofs as sign-login makes them (Vault, EKS, Akeyless) and edited the ways the
hostile-proof corpus edits them, STS answers like the fake STS serves, identity and
lease documents, config files and Authorization headers. scripts/fuzz --seed runs it;
cargo fuzz cmin then keeps the ones that add coverage."""

import base64
import hashlib
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
SIGN = os.path.join(ROOT, "target", "debug", "sign-login")


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def sign(*args):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE",
        "AWS_SECRET_ACCESS_KEY": "fakeSecretKeyfakeSecretKeyfakeSecretKey0",
    }
    return subprocess.run([SIGN, *args], env=env, check=True, capture_output=True).stdout.strip()


def edit_vault(proof, edit):
    doc = json.loads(proof)
    req = {
        "url": base64.b64decode(doc["iam_request_url"]).decode(),
        "body": base64.b64decode(doc["iam_request_body"]).decode(),
        "headers": json.loads(base64.b64decode(doc["iam_request_headers"])),
    }
    edit(req)
    doc["iam_request_url"] = base64.b64encode(req["url"].encode()).decode()
    doc["iam_request_body"] = base64.b64encode(req["body"].encode()).decode()
    doc["iam_request_headers"] = base64.b64encode(json.dumps(req["headers"]).encode()).decode()
    return json.dumps(doc)


def proofs():
    vault = sign("--server-id", "broker.test", "--role", "any")
    put("proof", vault)
    put("proof", sign("--server-id", "broker.test", "--region", "eu-west-1", "--format", "akeyless"))
    put("proof", sign("--format", "eks", "--cluster", "broker.test"))
    edits = {
        "url_query": lambda r: r.update(url=r["url"] + "?Action=AssumeRole"),
        "url_port": lambda r: r.update(url="http://127.0.0.1:4566/"),
        "url_v6": lambda r: r.update(url="http://[::1]:8080/"),
        "url_dualstack": lambda r: r.update(url="https://sts.us-west-2.api.aws/"),
        "body_dup": lambda r: r.update(body=r["body"] + "&action=AssumeRole"),
        "body_extra": lambda r: r.update(body=r["body"] + "&RoleArn=x"),
        "amz_header": lambda r: r["headers"].update({"X-Amz-Target": ["x"]}),
        "two_auth": lambda r: r["headers"].update({"authorization": r["headers"]["Authorization"]}),
        "content_length": lambda r: r["headers"].update({"Content-Length": ["+43"]}),
        "host": lambda r: r["headers"].update({"Host": ["evil.com"]}),
        "date_unsigned": lambda r: r["headers"].update({"Date": ["Sun, 22 Nov 2026 08:00:00 GMT"]}),
        "no_server_id": lambda r: r["headers"].pop("X-Vault-AWS-IAM-Server-ID", None),
    }
    for edit in edits.values():
        put("proof", edit_vault(vault, edit))
    doc = json.loads(vault)
    put("proof", '{"role":"a",' + vault.decode()[1:])
    doc["request"] = {"secret_id": "ci/db"}
    put("proof", json.dumps(doc))
    for junk in ["", "{}", "[]", "null", '{"cloud_id":"e30="}', '{"kind":"ExecCredential","status":{}}']:
        put("proof", junk)


ARN = "arn:aws:iam::123456789012:user/alice"


def answers():
    result = f"<Arn>{ARN}</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>"
    good = (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<GetCallerIdentityResult>{result}</GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    )
    for selector, body in [
        (0, good),
        (0, good.replace("</GetCallerIdentityResult>", f"</GetCallerIdentityResult><GetCallerIdentityResult>{result}</GetCallerIdentityResult>")),
        (0, '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]>' + good),
        (0, good.replace("123456789012</Account>", "999999999999</Account>")),
        (0, good.replace(ARN, "arn:aws:sts::123456789012:assumed-role/r/s")),
        (0, "<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>"),
        (2, good + "trailing"),
        (5, json.dumps({"GetCallerIdentityResponse": {"GetCallerIdentityResult": {"Arn": ARN, "UserId": "AIDA", "Account": "123456789012"}}})),
        (1, json.dumps({"GetCallerIdentityResponse": {}})),
    ]:
        put("sts_answer", bytes([selector]) + body.encode())


def documents():
    identity = {
        "identity": {"account_id": "123456789012", "arn": ARN, "canonical_arn": ARN, "user_id": "AIDAEXAMPLE",
                     "principal_type": "user", "principal_name": "alice", "session_name": None},
        "role": "ci", "verified_at": "2026-11-22T10:00:00Z", "request": {"secret_id": "ci/db"},
    }
    put("identity_doc", json.dumps(identity))
    put("identity_doc", '{"error":{"code":77,"message":"refused"}}')
    put("identity_doc", json.dumps(identity).replace('"role"', '"role":"x","role"'))
    lease = {"lease_id": "creds/deployer/7f3c0a1b2c3d4e5f", "credential_type": "assumed_role"}
    put("lease_ids", json.dumps(lease) + "\n" + "creds/tmpuser/0123\n\n  creds/x/1  \n")
    put("lease_ids", '{"lease_id":""}\n')
    put("lease_ids", '{"lease_id":"a","lease_id":"b"}\n')
    put("lease_ids", "creds/a\r\ncreds/b")


def configs():
    full = open(os.path.join(ROOT, "README.md")).read()
    blocks = full.split("```toml\n")[1:]
    for b in blocks:
        put("config", b.split("```")[0])
    put("config", '[login]\nserver_id = "b"\nallowed_sts_hosts = ["127.0.0.1:4566", "[::1]"]\nsts_endpoint = "http://127.0.0.1:5000"\nsingle_use = false\n')
    put("config", '[ledger]\nbackend = "dynamodb"\ntable = "vl"\nretain = "30d"\n')
    put("config", '[roles.x]\nbound_role_names = ["x"]\n')
    put("config", '[login]\nmax_skew = "20m"\n')


def authorizations():
    sig = "0123456789abcdef" * 4
    base = f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261122/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={sig}"
    for a in [base, base.replace("sts/", "s3/"), base + ", Signature=" + sig, "Basic abc",
              base.replace("SignedHeaders=", "SignedHeaders=host, SignedHeaders="), base.replace(sig, "zz")]:
        put("sigv4_auth", a)


if __name__ == "__main__":
    if not os.path.exists(SIGN):
        sys.exit("fuzz_seeds: build sign-login first (cargo build -p sign-login)")
    proofs()
    answers()
    documents()
    configs()
    authorizations()
