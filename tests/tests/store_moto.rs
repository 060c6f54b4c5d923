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
    // One CreateTable for the whole contract: the first call found it missing.
    assert!(store.describe().contains(&table));
}

/// A user allowed everything, for the tools and stores under test.
fn admin_with_all() -> (String, Creds) {
    let mut m = moto();
    (m.endpoint.clone(), m.admin("ddb"))
}

/// A caller that may use the table but not create it gets 78 and the exact
/// command that creates it; once it exists, the same caller works.
#[test]
fn a_missing_table_the_caller_may_not_create_is_a_config_error_with_the_command() {
    let mut m = moto();
    let v = m.call(json!({"op": "user", "name": unique("ddb-user"), "policy": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:CreateTable", "Resource": "*"}]}}));
    let endpoint = m.endpoint.clone();
    drop(m);
    let creds = Creds {
        access_key_id: v["access_key_id"].as_str().unwrap().into(),
        secret_access_key: v["secret_access_key"].as_str().unwrap().into(),
        session_token: None,
    };
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
