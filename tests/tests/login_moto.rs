//! Round trips against moto: sign-login makes a proof with credentials moto issued,
//! verify-login sends it to moto (signature checks on) and prints who signed it.

mod support;

use serde_json::json;
use support::{
    ACCOUNT, Creds, SERVER_ID, bin, config, config_for, moto, parse_identity, sign, tamper, unique,
    verify,
};

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stdout.clone()).unwrap()
}

fn stderr(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

#[test]
fn iam_user_round_trip_through_the_global_endpoint() {
    let mut m = moto();
    let name = unique("alice");
    let (creds, arn, user_id) = m.user(&name);
    let cfg = config_for(&m.endpoint, "");
    drop(m);
    let proof = support::sign_request(&creds, "any", "secret_id=ci/db");
    let out = verify(&cfg, proof).success();
    let id = parse_identity(stdout(&out).trim());
    assert_eq!(id.identity.arn, arn);
    assert_eq!(id.identity.canonical_arn, arn);
    assert_eq!(id.identity.user_id, user_id);
    assert_eq!(id.identity.account_id, ACCOUNT);
    assert_eq!(id.identity.principal_type, "user");
    assert_eq!(id.identity.principal_name, name);
    assert_eq!(id.role, "any");
    assert_eq!(id.request.unwrap()["secret_id"], json!("ci/db"));
    let verified: jiff::Timestamp = id.verified_at.parse().unwrap();
    assert!(jiff::Timestamp::now().duration_since(verified).as_secs() < 60);
}

#[test]
fn assumed_role_with_session_token_through_a_regional_endpoint() {
    let mut m = moto();
    let name = unique("ci-runner");
    let (creds, assumed_arn, role_arn) = m.role(&name);
    assert!(creds.session_token.is_some());
    let cfg = config_for(
        &m.endpoint,
        &format!(
            "[roles.ci]\nbound_principal_arns = [\"arn:aws:iam::{ACCOUNT}:role/ci-runner-*\"]\n"
        ),
    );
    drop(m);
    let proof = sign(
        &creds,
        &[
            "--server-id",
            SERVER_ID,
            "--role",
            "ci",
            "--region",
            "us-west-2",
        ],
    );
    let req = common::proof::decode(proof.as_bytes()).unwrap().request;
    assert_eq!(req.url, "https://sts.us-west-2.amazonaws.com/");
    assert!(support::header(&req, "X-Amz-Security-Token").len() > 10);
    let out = verify(&cfg, proof).success();
    let id = parse_identity(stdout(&out).trim());
    assert_eq!(id.identity.arn, assumed_arn);
    assert_eq!(id.identity.canonical_arn, role_arn);
    assert_eq!(id.identity.principal_type, "assumed-role");
    assert_eq!(id.identity.principal_name, name);
    assert_eq!(
        id.identity.session_name.as_deref(),
        Some(format!("{name}-session").as_str())
    );
    assert_eq!(id.role, "ci");
}

#[test]
fn role_defaults_to_the_principal_name() {
    let mut m = moto();
    let name = unique("deployer");
    let (creds, _, user_id) = m.user(&name);
    let cfg = config_for(
        &m.endpoint,
        &format!("[roles.{name}]\nbound_user_ids = [\"{user_id}\"]\n"),
    );
    drop(m);
    let out = verify(&cfg, sign(&creds, &["--server-id", SERVER_ID])).success();
    assert_eq!(parse_identity(stdout(&out).trim()).role, name);
}

#[test]
fn endpoint_from_aws_endpoint_url_sts_verifies_without_sts_endpoint() {
    let mut m = moto();
    let (creds, arn, _) = m.user(&unique("bob"));
    let endpoint = m.endpoint.clone();
    drop(m);
    let mut cmd = bin("sign-login");
    creds.apply(&mut cmd);
    let proof = cmd
        .env("AWS_ENDPOINT_URL_STS", &endpoint)
        .args(["--server-id", SERVER_ID, "--role", "any"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let req = common::proof::decode(&proof).unwrap().request;
    assert_eq!(req.url, format!("{endpoint}/"));
    // The proof names the emulator itself: accepted only once it is allowlisted.
    let refused = config(&format!(
        "[login]\nserver_id = \"{SERVER_ID}\"\n[roles.any]\nbound_account_ids = [\"{ACCOUNT}\"]\n"
    ));
    let out = verify(&refused, proof.clone()).code(77);
    assert!(
        stderr(&out).contains("is not an STS endpoint"),
        "{}",
        stderr(&out)
    );
    // The bare host admits port 80 only; the emulator's authority must be listed.
    let bare = config(&format!(
        "[login]\nserver_id = \"{SERVER_ID}\"\nallowed_sts_hosts = [\"127.0.0.1\"]\n[roles.any]\nbound_account_ids = [\"{ACCOUNT}\"]\n"
    ));
    let out = verify(&bare, proof.clone()).code(77);
    assert!(
        stderr(&out).contains("is not the default port of http"),
        "{}",
        stderr(&out)
    );
    let authority = endpoint.trim_start_matches("http://");
    let allowed = config(&format!(
        "[login]\nserver_id = \"{SERVER_ID}\"\nallowed_sts_hosts = [\"{authority}\"]\n[roles.any]\nbound_account_ids = [\"{ACCOUNT}\"]\n"
    ));
    let out = verify(&allowed, proof).success();
    assert_eq!(parse_identity(stdout(&out).trim()).identity.arn, arn);
}

#[test]
fn unbound_principal_is_refused() {
    let mut m = moto();
    let (creds, arn, _) = m.user(&unique("mallory"));
    let cfg = config_for(
        &m.endpoint,
        "[roles.ci]\nbound_principal_arns = [\"arn:aws:iam::123456789012:role/ci-*\"]\n",
    );
    drop(m);
    let out = verify(
        &cfg,
        sign(&creds, &["--server-id", SERVER_ID, "--role", "ci"]),
    )
    .code(77);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{arn} does not match login role ci")),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
    // A role that is not configured at all.
    let out = verify(
        &cfg,
        sign(&creds, &["--server-id", SERVER_ID, "--role", "nope"]),
    )
    .code(77);
    assert!(
        stderr(&out).contains("login role `nope`, which is not configured"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tampered_signature_is_refused_by_sts() {
    let mut m = moto();
    let (creds, _, _) = m.user(&unique("eve"));
    let cfg = config_for(&m.endpoint, "");
    drop(m);
    let proof = sign(&creds, &["--server-id", SERVER_ID, "--role", "any"]);
    let tampered = tamper(&proof, |req| {
        let auth = support::header(req, "Authorization");
        let last = auth.chars().last().unwrap();
        let flipped = if last == '0' { '1' } else { '0' };
        support::set_header(
            req,
            "Authorization",
            &format!("{}{flipped}", &auth[..auth.len() - 1]),
        );
    });
    let out = verify(&cfg, tampered).code(77);
    let err = stderr(&out);
    assert!(err.contains("STS refused the proof (403"), "{err}");
    assert!(err.contains("SignatureDoesNotMatch"), "{err}");
}

#[test]
fn unknown_keys_are_refused_by_sts() {
    let cfg = config_for(&moto().endpoint, "");
    let out = verify(
        &cfg,
        sign(&Creds::fake(), &["--server-id", SERVER_ID, "--role", "any"]),
    )
    .code(77);
    assert!(
        stderr(&out).contains("InvalidClientTokenId"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hvac_payload_verifies() {
    let mut m = moto();
    let (creds, arn, _) = m.user(&unique("hvac"));
    let payload = m.call(
        json!({"op": "hvac", "creds": creds.to_json(), "server_id": SERVER_ID, "role": "any"}),
    );
    let cfg = config_for(&m.endpoint, "");
    drop(m);
    let out = verify(&cfg, payload.to_string()).success();
    assert_eq!(parse_identity(stdout(&out).trim()).identity.arn, arn);
}

#[test]
fn botocore_signed_requests_verify_global_and_regional_with_session_token() {
    let mut m = moto();
    let (user, user_arn, _) = m.user(&unique("boto"));
    let (role, role_arn, _) = m.role(&unique("boto-role"));
    let global = m.call(json!({"op": "botocore", "creds": user.to_json(), "server_id": SERVER_ID}));
    let regional = m.call(json!({"op": "botocore", "creds": role.to_json(), "server_id": SERVER_ID, "region": "eu-west-1"}));
    let cfg = config_for(&m.endpoint, "");
    drop(m);
    // botocore does not list Host in the header map; it is signed all the same.
    let decoded = common::proof::decode(global.to_string().as_bytes()).unwrap();
    assert!(
        !decoded
            .request
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
    );
    let with_role = |mut v: serde_json::Value| {
        v["role"] = json!("any");
        v.to_string()
    };
    let batch = format!("{}\n{}\n", with_role(global), with_role(regional));
    let out = verify(&cfg, batch).success();
    let lines: Vec<_> = stdout(&out).lines().map(parse_identity).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].identity.arn, user_arn);
    assert_eq!(lines[1].identity.arn, role_arn);
}

#[test]
fn akeyless_format_verifies() {
    let mut m = moto();
    let (creds, arn, _) = m.user(&unique("akl"));
    let cfg = config_for(&m.endpoint, "");
    drop(m);
    let proof = sign(
        &creds,
        &[
            "--server-id",
            SERVER_ID,
            "--role",
            "any",
            "--format",
            "akeyless",
        ],
    );
    assert!(proof.starts_with("{\"cloud_id\":"), "{proof}");
    let out = verify(&cfg, proof).success();
    assert_eq!(parse_identity(stdout(&out).trim()).identity.arn, arn);
}

#[test]
fn batch_keeps_order_and_reports_the_worst_code() {
    let mut m = moto();
    let (a, a_arn, _) = m.user(&unique("batch-a"));
    let (b, b_arn, _) = m.user(&unique("batch-b"));
    let cfg = config_for(&m.endpoint, "");
    drop(m);
    let good_a = sign(&a, &["--server-id", SERVER_ID, "--role", "any"]);
    let wrong_server = sign(&b, &["--server-id", "other.example", "--role", "any"]);
    let good_b = sign(&b, &["--server-id", SERVER_ID, "--role", "any"]);
    let input = format!("{good_a}\nnot json\n{wrong_server}\n{good_b}\n");
    let out = bin("verify-login")
        .args(["--config"])
        .arg(&cfg)
        .args(["--jobs", "3"])
        .write_stdin(input)
        .assert()
        .code(77);
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(parse_identity(&lines[0]).identity.arn, a_arn);
    let bad: common::docs::ErrorLine = serde_json::from_str(&lines[1]).unwrap();
    assert_eq!(bad.error.code, 65);
    let refused: common::docs::ErrorLine = serde_json::from_str(&lines[2]).unwrap();
    assert_eq!(refused.error.code, 77);
    assert!(
        refused.error.message.contains("X-Vault-AWS-IAM-Server-ID"),
        "{}",
        refused.error.message
    );
    assert_eq!(parse_identity(&lines[3]).identity.arn, b_arn);
}

/// A proof botocore signs as `req` shapes it, for a new user (one user per proof:
/// two proofs signed alike in one second would be one proof): (name, proof, ARN).
fn signed_by_a_new_user(
    m: &mut support::Moto,
    name: &'static str,
    mut req: serde_json::Value,
) -> (&'static str, serde_json::Value, String) {
    let (creds, arn, _) = m.user(&unique("client"));
    req["op"] = json!("botocore");
    req["creds"] = creds.to_json();
    req["server_id"] = json!(SERVER_ID);
    (name, m.call(req), arn)
}

/// Proofs shaped as real clients other than botocore make them, each signed for real
/// and verified by moto with the Host that was signed:
/// - Vault's Go login helper (and Akeyless' Go cloud-id generator): content-length is
///   signed, but Go's header map has no Content-Length; names in Go's canonical case;
///   an unsigned User-Agent beside them.
/// - the AWS SDK for JavaScript v3: X-Amz-User-Agent signed.
/// - botocore with use_dualstack_endpoint: `sts.REGION.api.aws`.
/// - a URL with the default port written out: signed without it, sent without it.
#[test]
fn proofs_shaped_like_other_real_clients_verify() {
    let mut m = moto();
    let mut signed = |name, req| signed_by_a_new_user(&mut m, name, req);
    let go = json!({"sign_headers": {"Content-Length": "43"}, "drop": ["Content-Length"],
        "go_names": true, "unsigned": {"User-Agent": "aws-sdk-go-v2/1.36.3 os/linux lang/go#1.24"}});
    let mut akeyless = go.clone();
    akeyless["format"] = json!("akeyless");
    let variants = [
        signed("vault CLI (Go)", go),
        signed("akeyless (Go)", akeyless),
        signed(
            "JavaScript v3",
            json!({"sign_headers": {"X-Amz-User-Agent": "aws-sdk-js/3.700.0"}}),
        ),
        signed(
            "dual-stack",
            json!({"region": "us-west-2", "url": "https://sts.us-west-2.api.aws/"}),
        ),
        signed(
            "explicit :443",
            json!({"url": "https://sts.amazonaws.com:443/"}),
        ),
    ];
    let cfg = config_for(&m.endpoint, "");
    drop(m);
    for (name, mut proof, arn) in variants {
        proof["role"] = json!("any");
        let req = common::proof::decode(proof.to_string().as_bytes())
            .unwrap()
            .request;
        if name.ends_with("(Go)") {
            let auth = support::header(&req, "Authorization");
            assert!(
                auth.contains("content-length;"),
                "{name} signs content-length: {auth}"
            );
            assert!(
                !req.headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            );
            assert!(
                req.headers
                    .iter()
                    .any(|(k, _)| k == "X-Vault-Aws-Iam-Server-Id")
            );
        }
        let out = verify(&cfg, proof.to_string());
        let code = out.get_output().status.code();
        assert_eq!(code, Some(0), "{name}: {}", stderr(&out));
        assert_eq!(
            parse_identity(stdout(&out).trim()).identity.arn,
            arn,
            "{name}"
        );
    }
}

/// The legitimate variants real clients produce keep verifying (each signed by
/// botocore and checked by moto with the Host that was signed): regional and partition
/// endpoints (FIPS, dual-stack FIPS; China's and GovCloud's keys live in other
/// partitions, which moto keeps apart, so those are in fake_sts.rs), header names in
/// lower case, header values as plain strings instead of lists, a header with several
/// values (signed joined with ","), and an unsigned Content-Length or User-Agent
/// beside the signed headers.
#[test]
fn legitimate_variants_of_real_clients_verify() {
    let mut m = moto();
    let mut signed = |name, req| signed_by_a_new_user(&mut m, name, req);
    let variants = [
        signed(
            "FIPS",
            json!({"region": "us-east-1", "url": "https://sts-fips.us-east-1.amazonaws.com/"}),
        ),
        signed(
            "FIPS dual-stack",
            json!({"region": "us-west-2", "url": "https://sts-fips.us-west-2.api.aws/"}),
        ),
        signed("lower-case names", json!({"lower_names": true})),
        signed("plain string values", json!({"plain_values": true})),
        signed(
            "a signed header with several values",
            json!({"sign_headers": {"Accept": "text/xml,application/xml"}, "split_values": ["Accept"]}),
        ),
        signed(
            "unsigned Content-Length and User-Agent",
            json!({"unsigned": {"Content-Length": "43", "User-Agent": "Boto3/1.40"}}),
        ),
    ];
    let cfg = config_for(&m.endpoint, "");
    drop(m);
    for (name, mut proof, arn) in variants {
        proof["role"] = json!("any");
        let out = verify(&cfg, proof.to_string());
        assert_eq!(
            out.get_output().status.code(),
            Some(0),
            "{name}: {}",
            stderr(&out)
        );
        assert_eq!(
            parse_identity(stdout(&out).trim()).identity.arn,
            arn,
            "{name}"
        );
    }
}

/// sign-login finds its endpoint where the SDKs do: `endpoint_url` of the profile in
/// ~/.aws/config (here, the emulator), and FIPS and dual-stack settings.
#[test]
fn sign_login_takes_endpoint_and_variants_from_the_aws_config_file() {
    let mut m = moto();
    let (creds, arn, _) = m.user(&unique("profile"));
    let endpoint = m.endpoint.clone();
    drop(m);
    let dir = tempfile::tempdir().unwrap();
    let aws_config = dir.path().join("config");
    std::fs::write(
        &aws_config,
        format!(
            "[profile emu]\nendpoint_url = {endpoint}\n\n\
             [profile fips]\nregion = us-west-2\nuse_fips_endpoint = true\nuse_dualstack_endpoint = true\n"
        ),
    )
    .unwrap();
    let signed_with = |profile: &str| {
        let mut cmd = bin("sign-login");
        creds.apply(&mut cmd);
        let out = cmd
            .env("AWS_CONFIG_FILE", &aws_config)
            .env("AWS_PROFILE", profile)
            .args(["--server-id", SERVER_ID, "--role", "any"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let proof = signed_with("emu");
    let req = common::proof::decode(proof.as_bytes()).unwrap().request;
    assert_eq!(req.url, format!("{endpoint}/"));
    let authority = endpoint.trim_start_matches("http://");
    let allowed = config(&format!(
        "[login]\nserver_id = \"{SERVER_ID}\"\nallowed_sts_hosts = [\"{authority}\"]\n[roles.any]\nbound_account_ids = [\"{ACCOUNT}\"]\n"
    ));
    let out = verify(&allowed, proof).success();
    assert_eq!(parse_identity(stdout(&out).trim()).identity.arn, arn);

    let proof = signed_with("fips");
    let req = common::proof::decode(proof.as_bytes()).unwrap().request;
    assert_eq!(req.url, "https://sts-fips.us-west-2.api.aws/");
    // Sent to the emulator with its Host kept, it verifies.
    let out = verify(&config_for(&endpoint, ""), proof).success();
    assert_eq!(parse_identity(stdout(&out).trim()).identity.arn, arn);
}
