"""Side-by-side timings of vaultless against the tools users would otherwise pick.

Run by scripts/bench, which builds release binaries and starts moto. Each pair of
commands runs alternately, RUNS times; the medians of wall time are compared.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
RUNS = int(os.environ.get("BENCH_RUNS", "30"))


def timed(argv, stdin=None, env=None):
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench: {argv[0]} failed ({done.returncode}): {done.stderr.decode()[:500]}")
    return elapsed, done.stdout


def compare(title, ours, theirs, target):
    """ours/theirs: (label, argv, stdin, env). Prints medians and the ratio."""
    a, b = [], []
    for _ in range(RUNS):
        a.append(timed(ours[1], ours[2], ours[3])[0])
        b.append(timed(theirs[1], theirs[2], theirs[3])[0])
    ma, mb = statistics.median(a), statistics.median(b)
    ratio = ma / mb
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(f"{title}")
    print(f"  {ours[0]:<44} {ma * 1000:8.2f} ms (median of {RUNS})")
    print(f"  {theirs[0]:<44} {mb * 1000:8.2f} ms")
    if target == float("inf"):
        print(f"  ratio {ratio:.3f}")
    else:
        print(f"  ratio {ratio:.3f}   target <= {target}   {verdict}")
    print()
    return ratio


def main():
    moto = json.loads(sys.argv[1])
    user = json.loads(sys.argv[2])
    endpoint = moto["endpoint"]
    home = tempfile.mkdtemp()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("VAULTLESS_")}
    base_env.update(HOME=home, AWS_EC2_METADATA_DISABLED="true")
    env = dict(base_env, AWS_ACCESS_KEY_ID=user["access_key_id"], AWS_SECRET_ACCESS_KEY=user["secret_access_key"])
    python = sys.executable

    hvac_script = f"""
import base64, json
from hvac import aws_utils
r = aws_utils.generate_sigv4_auth_request(header_value="broker.bench")
aws_utils.SigV4Auth({user['access_key_id']!r}, {user['secret_access_key']!r}, None, "us-east-1").add_auth(r)
h = json.dumps({{k: [r.headers[k]] for k in r.headers}})
print(json.dumps({{"iam_http_request_method": r.method,
  "iam_request_url": base64.b64encode(r.url.encode()).decode(),
  "iam_request_body": base64.b64encode(r.body.encode() if isinstance(r.body, str) else r.body).decode(),
  "iam_request_headers": base64.b64encode(h.encode()).decode()}}))
"""
    print(f"vaultless bench: {RUNS} runs each, moto at {endpoint}\n")
    compare(
        "sign-login vs hvac making the same Vault login proof (local signing)",
        ("sign-login --server-id broker.bench", [os.path.join(BIN, "sign-login"), "--server-id", "broker.bench"], None, env),
        ("python: hvac.aws_utils SigV4Auth + payload", [python, "-c", hvac_script], None, env),
        0.05,
    )

    config = os.path.join(home, "config.toml")
    with open(config, "w") as f:
        f.write(
            f'[login]\nserver_id = "broker.bench"\nsts_endpoint = "{endpoint}"\n'
            f'[roles.any]\nbound_account_ids = ["123456789012"]\n'
        )
    proof = timed([os.path.join(BIN, "sign-login"), "--server-id", "broker.bench", "--role", "any"], env=env)[1]
    _, out = timed([os.path.join(BIN, "verify-login"), "--config", config], stdin=proof, env=base_env)
    assert json.loads(out)["identity"]["arn"].endswith(":user/bench"), out
    curl = [
        "curl", "-sS", "--fail", "-o", "/dev/null",
        "--aws-sigv4", "aws:amz:us-east-1:sts",
        "--user", f"{user['access_key_id']}:{user['secret_access_key']}",
        "-H", "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
        "--data", "Action=GetCallerIdentity&Version=2011-06-15",
        endpoint + "/",
    ]
    compare(
        "verify-login (one proof) vs curl --aws-sigv4 making the same STS call, against moto",
        ("verify-login < proof", [os.path.join(BIN, "verify-login"), "--config", config], proof, base_env),
        ("curl --aws-sigv4 ... GetCallerIdentity", curl, None, base_env),
        1.5,
    )
    bench_fetch(endpoint, user, base_env)


def bench_fetch(endpoint, user, base_env):
    env = dict(
        base_env,
        AWS_ACCESS_KEY_ID=user["access_key_id"],
        AWS_SECRET_ACCESS_KEY=user["secret_access_key"],
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
    )
    fetch = os.path.join(BIN, "fetch-secret")
    aws = os.path.join(os.path.dirname(sys.executable), "aws")
    _, out = timed([fetch, "bench/s0", "--field", "password"], env=env)
    assert out == b"p0", out
    compare(
        "fetch-secret vs the AWS CLI reading the same secret, against moto",
        ("fetch-secret bench/s0", [fetch, "bench/s0"], None, env),
        ("aws secretsmanager get-secret-value", [aws, "secretsmanager", "get-secret-value", "--secret-id", "bench/s0"], None, env),
        0.1,
    )
    curl = [
        "curl", "-sS", "--fail", "-o", "/dev/null",
        "--aws-sigv4", "aws:amz:us-east-1:secretsmanager",
        "--user", f"{user['access_key_id']}:{user['secret_access_key']}",
        "-H", "Content-Type: application/x-amz-json-1.1",
        "-H", "X-Amz-Target: secretsmanager.GetSecretValue",
        "--data", '{"SecretId":"bench/s0"}',
        endpoint + "/",
    ]
    compare(
        "fetch-secret vs curl --aws-sigv4 doing the same GetSecretValue, against moto",
        ("fetch-secret bench/s0", [fetch, "bench/s0"], None, env),
        ("curl --aws-sigv4 ... GetSecretValue", curl, None, env),
        1.5,
    )
    ten = [f"bench/s{i}" for i in range(10)]
    sequential = ["sh", "-c", " && ".join(f"{fetch} {s} >/dev/null" for s in ten)]
    compare(
        "ten secrets: one fetch-secret call vs ten sequential calls (reported, no target)",
        ("fetch-secret bench/s0 ... bench/s9", [fetch, *ten], None, env),
        ("10 x fetch-secret bench/sN", sequential, None, env),
        float("inf"),
    )


if __name__ == "__main__":
    main()
