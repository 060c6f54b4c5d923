"""A moto server for vaultless' tests, demo and benchmark.

Starts moto on a free loopback port with signature checking on: the first
INITIAL_NO_AUTH_ACTION_COUNT calls (made here, unsigned) create an admin user and
its key; every later call must be signed by a key moto knows. Prints one JSON line
(endpoint, admin keys, account), then answers one JSON request per stdin line:

  {"op": "user", "name": N}                 IAM user + access key
  {"op": "role", "name": N}                 IAM role, assumed: temporary credentials
  {"op": "hvac", "creds": C, "server_id": S, "role": R}
                                            a login payload made by hvac, Vault's client
  {"op": "botocore", "creds": C, "server_id": S, "region": R}
                                            a request signed by botocore, as Vault's Go and
                                            Python helpers send it (no Host in the map)
  {"op": "user", "name": N, "policy": P}    the same, with inline policy P (a JSON document)
  {"op": "secret", "name": N, "string": S | "binary": B64, "stages": [...]}
                                            a secret (or a new version of one), its ARN and
                                            version id
  {"op": "delete_secret", "name": N}        schedules a secret for deletion
  {"op": "list_users", "prefix": P}         names of the IAM users whose name starts with P
  {"op": "group", "name": N}                an IAM group
  {"op": "managed_policy", "name": N, "policy": P}
                                            a customer managed policy, its ARN
  {"op": "role_policy", "role": R, "name": N}
                                            an inline policy of a role, or null

The server stops when stdin closes, so it cannot outlive the process that started it.
"""

import base64
import logging
import json
import os
import socket
import sys

# Three unsigned calls set up the admin (CreateUser, PutUserPolicy, CreateAccessKey).
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")

import threading  # noqa: E402

import boto3  # noqa: E402
from moto.dynamodb.responses import DynamoHandler  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

# DynamoDB applies each conditional write atomically; moto serves requests on threads
# and checks a condition and writes the item as two steps, so two racing PutItems can
# both pass attribute_not_exists. One lock around each DynamoDB request gives back the
# atomicity the tools rely on (and that the race tests check).
_DYNAMODB_LOCK = threading.Lock()
_dynamodb_call = DynamoHandler.call_action


def _atomic_dynamodb_call(self):
    with _DYNAMODB_LOCK:
        return _dynamodb_call(self)


DynamoHandler.call_action = _atomic_dynamodb_call

ACCOUNT = "123456789012"
ADMIN_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def client(service, endpoint, creds=None):
    creds = creds or {"access_key_id": "AKIANOAUTHSETUP00000", "secret_access_key": "unused"}
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=creds["access_key_id"],
        aws_secret_access_key=creds["secret_access_key"],
        aws_session_token=creds.get("session_token"),
    )


def make_user(iam, name, policy=None):
    user = iam.create_user(UserName=name)["User"]
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="test", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "access_key_id": key["AccessKeyId"],
        "secret_access_key": key["SecretAccessKey"],
        "arn": user["Arn"],
        "user_id": user["UserId"],
    }


def make_role(iam, sts, name):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    got = sts.assume_role(RoleArn=role["Arn"], RoleSessionName=f"{name}-session")
    c = got["Credentials"]
    return {
        "access_key_id": c["AccessKeyId"],
        "secret_access_key": c["SecretAccessKey"],
        "session_token": c["SessionToken"],
        "arn": got["AssumedRoleUser"]["Arn"],
        "role_arn": role["Arn"],
        "role_id": role["RoleId"],
    }


def make_secret(sm, req):
    kwargs = {}
    if "string" in req:
        kwargs["SecretString"] = req["string"]
    else:
        kwargs["SecretBinary"] = base64.b64decode(req["binary"])
    try:
        out = sm.create_secret(Name=req["name"], **kwargs)
    except sm.exceptions.ResourceExistsException:
        out = sm.put_secret_value(SecretId=req["name"], VersionStages=req.get("stages") or ["AWSCURRENT"], **kwargs)
    return {"arn": out["ARN"], "version_id": out["VersionId"]}


def hvac_payload(creds, server_id, role):
    from hvac import aws_utils

    request = aws_utils.generate_sigv4_auth_request(header_value=server_id)
    aws_utils.SigV4Auth(
        creds["access_key_id"], creds["secret_access_key"], creds.get("session_token"), "us-east-1"
    ).add_auth(request)
    # hvac's iam_login sends exactly this payload to Vault.
    headers = json.dumps({k: [request.headers[k]] for k in request.headers})
    body = request.body if isinstance(request.body, bytes) else request.body.encode()
    payload = {
        "iam_http_request_method": request.method,
        "iam_request_url": base64.b64encode(request.url.encode()).decode(),
        "iam_request_body": base64.b64encode(body).decode(),
        "iam_request_headers": base64.b64encode(headers.encode()).decode(),
    }
    if role:
        payload["role"] = role
    return payload


def botocore_payload(creds, server_id, region, req=None):
    """A proof signed by botocore's SigV4 signer, optionally shaped like other clients':
    url (another endpoint), sign_headers (extra headers, signed), drop (headers signed
    but left out of the map, as Go's http.Header leaves out Content-Length),
    go_names (header names as Go's http.Header writes them), unsigned (headers added
    after signing, as the Go SDK adds User-Agent), split_values (headers given as
    several values), format "akeyless" (a cloud_id)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = req or {}
    url = req.get("url") or (f"https://sts.{region}.amazonaws.com/" if region else "https://sts.amazonaws.com/")
    body = req.get("body", "Action=GetCallerIdentity&Version=2011-06-15")
    method = req.get("method", "POST")
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if server_id:
        headers["X-Vault-AWS-IAM-Server-ID"] = server_id
    headers.update(req.get("sign_headers") or {})
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(
        Credentials(creds["access_key_id"], creds["secret_access_key"], creds.get("session_token")),
        "sts",
        region or "us-east-1",
    ).add_auth(request)
    dropped = {h.lower() for h in req.get("drop") or []}
    out = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
    out.update(req.get("unsigned") or {})
    if req.get("go_names"):
        out = {"-".join(part.capitalize() for part in k.split("-")): v for k, v in out.items()}
    if req.get("lower_names"):
        out = {k.lower(): v for k, v in out.items()}
    # Header values as lists (Go's http.Header), or as plain strings.
    # split_values: headers whose signed value "a,b" goes in the map as ["a", "b"], as
    # Go's http.Header holds a header given several times (SigV4 signs them joined).
    split = {h.lower() for h in req.get("split_values") or []}
    shaped = {
        k: (v.split(",") if k.lower() in split else v if req.get("plain_values") else [v])
        for k, v in out.items()
    }
    headers_b64 = base64.b64encode(json.dumps(shaped).encode()).decode()
    url_b64 = base64.b64encode(url.encode()).decode()
    body_b64 = base64.b64encode(body.encode()).decode()
    if req.get("format") == "akeyless":
        inner = {
            "sts_request_method": method,
            "sts_request_url": url_b64,
            "sts_request_body": body_b64,
            "sts_request_headers": headers_b64,
        }
        return {"cloud_id": base64.b64encode(json.dumps(inner).encode()).decode()}
    return {
        "iam_http_request_method": method,
        "iam_request_url": url_b64,
        "iam_request_body": body_b64,
        "iam_request_headers": headers_b64,
    }


class FakeApiServer:
    """A test-local Kubernetes API server over HTTPS (a self-signed certificate made
    here): it answers GET /version and records the Authorization header of each
    request, so a test sees the token kubectl's exec plugin produced."""

    def __init__(self):
        import datetime
        import ssl
        import tempfile
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        import ipaddress

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "cert.pem"), "wb") as f:
            f.write(self.cert_pem)
        with open(os.path.join(d, "key.pem"), "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        self.seen = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append({"path": self.path, "authorization": self.headers.get("Authorization")})
                body = json.dumps({"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, "cert.pem"), os.path.join(d, "key.pem"))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def main():
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"

    setup = client("iam", endpoint)
    setup.create_user(UserName="vaultless-admin")
    setup.put_user_policy(UserName="vaultless-admin", PolicyName="all", PolicyDocument=ADMIN_POLICY)
    key = setup.create_access_key(UserName="vaultless-admin")["AccessKey"]
    admin = {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
    iam = client("iam", endpoint, admin)
    sts = client("sts", endpoint, admin)
    sm = client("secretsmanager", endpoint, admin)

    api_servers = {}
    print(json.dumps({"endpoint": endpoint, "account_id": ACCOUNT, "admin": admin}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req["op"]
            if op == "user":
                out = make_user(iam, req["name"], req.get("policy"))
            elif op == "role":
                out = make_role(iam, sts, req["name"])
            elif op == "secret":
                out = make_secret(sm, req)
            elif op == "delete_secret":
                sm.delete_secret(SecretId=req["name"], RecoveryWindowInDays=7)
                out = {}
            elif op == "list_users":
                names = []
                for page in iam.get_paginator("list_users").paginate():
                    names += [u["UserName"] for u in page["Users"] if u["UserName"].startswith(req["prefix"])]
                out = {"users": names}
            elif op == "group":
                out = {"arn": iam.create_group(GroupName=req["name"])["Group"]["Arn"]}
            elif op == "managed_policy":
                doc = json.dumps(req["policy"])
                out = {"arn": iam.create_policy(PolicyName=req["name"], PolicyDocument=doc)["Policy"]["Arn"]}
            elif op == "role_policy":
                try:
                    got = iam.get_role_policy(RoleName=req["role"], PolicyName=req["name"])
                    doc = got["PolicyDocument"]
                    out = {"policy": doc if isinstance(doc, dict) else json.loads(doc)}
                except iam.exceptions.NoSuchEntityException:
                    out = {"policy": None}
            elif op == "hvac":
                out = hvac_payload(req["creds"], req.get("server_id"), req.get("role"))
            elif op == "api_server":
                api = FakeApiServer()
                api_servers[api.port] = api
                out = {"url": f"https://127.0.0.1:{api.port}", "ca": base64.b64encode(api.cert_pem).decode()}
            elif op == "api_seen":
                out = {"requests": api_servers[req["port"]].seen}
            elif op == "botocore":
                out = botocore_payload(req["creds"], req.get("server_id"), req.get("region"), req)
            else:
                out = {"error": f"unknown op {op}"}
        except Exception as e:  # reported to the caller, which fails its test
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)
    server.stop()


if __name__ == "__main__":
    main()
