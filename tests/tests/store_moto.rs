//! The DynamoDB state store against moto's DynamoDB: the same contract the SQLite
//! store passes, a table made on first use, and a caller who may not make it.

mod support;

use common::ledger::{DynamoStore, Settings, Store};
use serde_json::json;
use support::{Creds, bin, block, config, moto, unique};

#[test]
fn dynamodb_store_keeps_the_contract_on_a_table_it_creates() {
    let (endpoint, creds) = admin_with_all();
    let table = unique("vl-contract");
    let store = DynamoStore::with_config(
        &support::sdk_config(&endpoint, &creds),
        &table,
        Settings {
            retain: common::ledger::DEFAULT_RETAIN,
        },
    );
    block(common::ledger::contract::all(&store));
    // The table the first call made: on-demand, both indexes, TTL on expires_ttl.
    use aws_sdk_dynamodb::types::{BillingMode, TimeToLiveStatus};
    let client = aws_sdk_dynamodb::Client::new(&support::sdk_config(&endpoint, &creds));
    let described = block(client.describe_table().table_name(&table).send()).unwrap();
    let t = described.table().expect("the table");
    assert_eq!(
        t.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    let mut indexes: Vec<&str> = t
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, ["by_due", "by_id"]);
    let ttl = block(client.describe_time_to_live().table_name(&table).send()).unwrap();
    let ttl = ttl.time_to_live_description().expect("a TTL setting");
    assert_eq!(ttl.attribute_name(), Some("expires_ttl"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

/// The sweep finds due leases through the index: the requests it makes do not grow
/// with the number of live leases (no Scan, no page per lease).
#[test]
fn a_sweep_makes_as_many_requests_over_500_live_leases_as_over_10() {
    let (endpoint, creds) = admin_with_all();
    let config = support::sdk_config(&endpoint, &creds);
    let settings = || Settings {
        retain: common::ledger::DEFAULT_RETAIN,
    };
    let table = unique("vl-noscan");
    let far = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let mut counts = Vec::new();
    let mut made = 0;
    for total in [10, 500] {
        let store = DynamoStore::with_config(&config, &table, settings());
        while made < total {
            let lease = common::ledger::contract::lease(
                &format!("creds/noscan/{made:016x}"),
                jiff::Timestamp::now().as_second(),
                far.as_second(),
            );
            block(store.insert_pending(&lease)).unwrap();
            assert!(block(store.activate(&lease.id, None, far)).unwrap());
            made += 1;
        }
        let store = DynamoStore::with_config(&config, &table, settings());
        let now = jiff::Timestamp::now();
        let due = block(store.due(now, now - jiff::SignedDuration::from_mins(5))).unwrap();
        assert!(due.is_empty(), "{} due", due.len());
        counts.push(store.requests());
    }
    assert_eq!(
        counts[0], counts[1],
        "requests at 10 and at 500 live leases"
    );
    assert!(counts[1] <= 4, "{counts:?}");
}

/// A user allowed everything, for the tools and stores under test.
fn admin_with_all() -> (String, Creds) {
    let mut m = moto();
    (m.endpoint.clone(), m.admin("ddb"))
}

/// A user allowed everything but `action`.
fn user_denied(action: &str) -> (String, Creds) {
    let mut m = moto();
    let v = m.call(
        json!({"op": "user", "name": unique("ddb-denied"), "policy": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": action, "Resource": "*"}]}}),
    );
    let creds = Creds {
        access_key_id: v["access_key_id"].as_str().unwrap().into(),
        secret_access_key: v["secret_access_key"].as_str().unwrap().into(),
        session_token: None,
    };
    (m.endpoint.clone(), creds)
}

/// A caller that may use the table but not create it gets 78 and the exact
/// command that creates it; once it exists, the same caller works.
#[test]
fn a_missing_table_the_caller_may_not_create_is_a_config_error_with_the_command() {
    let (endpoint, creds) = user_denied("dynamodb:CreateTable");
    let table = unique("vl-denied");
    let cfg = config(&format!(
        "[ledger]\nbackend = \"dynamodb\"\ntable = \"{table}\"\n"
    ));
    let run = || {
        let mut cmd = bin("revoke-lease");
        creds.apply(&mut cmd);
        cmd.env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_REGION", "us-east-1")
            .args(["--expired", "--config"])
            .arg(&cfg)
            .assert()
    };
    let a = run().code(78);
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!("DynamoDB table {table} does not exist")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("aws dynamodb create-table --table-name {table}")),
        "{stderr}"
    );
    // Made by someone who may (here, the store of an admin), it is used as it is.
    let (endpoint2, admin) = admin_with_all();
    assert_eq!(endpoint, endpoint2);
    let store = DynamoStore::with_config(
        &support::sdk_config(&endpoint, &admin),
        &table,
        Settings {
            retain: common::ledger::DEFAULT_RETAIN,
        },
    );
    assert!(
        block(store.use_proof(
            "x",
            jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60)
        ))
        .unwrap()
    );
    run().success();
}

/// A caller that may create the table but not turn on its TTL gets 78 and the
/// command that turns it on, rather than a table that keeps every row for ever.
#[test]
fn a_table_whose_ttl_the_caller_may_not_enable_is_a_config_error_with_the_command() {
    let (endpoint, creds) = user_denied("dynamodb:UpdateTimeToLive");
    let table = unique("vl-nottl");
    let cfg = config(&format!(
        "[ledger]\nbackend = \"dynamodb\"\ntable = \"{table}\"\n"
    ));
    let mut cmd = bin("revoke-lease");
    creds.apply(&mut cmd);
    let a = cmd
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_REGION", "us-east-1")
        .args(["--expired", "--config"])
        .arg(&cfg)
        .assert()
        .code(78);
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(stderr.contains("may not turn on its TTL"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "aws dynamodb update-time-to-live --table-name {table} --time-to-live-specification Enabled=true,AttributeName=expires_ttl"
        )),
        "{stderr}"
    );
}
