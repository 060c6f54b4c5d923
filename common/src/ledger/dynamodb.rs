//! The shared backend: one DynamoDB table for every broker host.
//!
//! Items are keyed by `pk`: `lease#<id>` for a lease, `proof#<hash>` for a used proof.
//! Every state change is a conditional write on the item itself, so claims and used
//! proofs are atomic across hosts. Two sparse global secondary indexes serve the
//! paths that run from cron, so nothing ever scans the table:
//!
//! - `by_due`: partition `state`, sort `due_at` (the time a lease in that state becomes
//!   due: issued_at when pending, expires_at when active, the claim's end when revoking,
//!   0 when failed). A revoked lease has no `due_at`, so it leaves the index. A sweep
//!   is four queries whatever the size of the table.
//! - `by_id`: partition `live` (always "lease"), sort `id`, for `--prefix`. A revoked
//!   lease has no `live`, so only live leases are in it.
//!
//! The indexes are eventually consistent: what they return is only a candidate, and
//! the conditional claim on the item decides. Revoked leases and used proofs carry
//! `expires_ttl`, which DynamoDB's TTL deletes.
//!
//! A write can succeed and its answer still be lost (a 5xx, a dropped connection);
//! the SDK then sends it again, and the condition fails on our own first write. So
//! the writes that must not be mistaken for someone else's ask for the item as it was
//! (`ReturnValuesOnConditionCheckFailure`), and an item that is our own write counts
//! as success.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ReturnValue, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use jiff::Timestamp;

use super::{Claim, Flat, Lease, Resources, Settings, State, Store};
use crate::error::{Error, Result};

const DUE_INDEX: &str = "by_due";
const ID_INDEX: &str = "by_id";
const TTL_ATTRIBUTE: &str = "expires_ttl";
const LIVE: &str = "lease";

type Item = HashMap<String, AttributeValue>;

pub struct DynamoStore {
    client: Client,
    table: String,
    settings: Settings,
    /// Requests sent, for `-v` and the benchmark.
    requests: AtomicU64,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn list(v: &[String]) -> Option<AttributeValue> {
    (!v.is_empty()).then(|| AttributeValue::L(v.iter().map(|x| s(x.clone())).collect()))
}

fn lease_key(id: &str) -> (String, AttributeValue) {
    ("pk".to_string(), s(format!("lease#{id}")))
}

fn code_of<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Option<&str> {
    e.as_service_error().and_then(|s| s.code())
}

fn conflict<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    code_of(e) == Some("ConditionalCheckFailedException")
}

/// The item a failed condition found, where the write asked for it.
fn found_item<E>(e: &SdkError<E, HttpResponse>) -> Option<&Item>
where
    E: ProvideErrorMetadata + FoundItem,
{
    e.as_service_error().and_then(FoundItem::item)
}

trait FoundItem {
    fn item(&self) -> Option<&Item>;
}

impl FoundItem for aws_sdk_dynamodb::operation::put_item::PutItemError {
    fn item(&self) -> Option<&Item> {
        match self {
            Self::ConditionalCheckFailedException(x) => x.item(),
            _ => None,
        }
    }
}

impl FoundItem for aws_sdk_dynamodb::operation::update_item::UpdateItemError {
    fn item(&self) -> Option<&Item> {
        match self {
            Self::ConditionalCheckFailedException(x) => x.item(),
            _ => None,
        }
    }
}

fn missing_table<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    code_of(e) == Some("ResourceNotFoundException")
}

/// Reads an item back into a lease.
fn lease_of(item: &Item) -> Result<Lease> {
    let bad = |what: &str| Error::internal(format!("the state store holds a lease without {what}"));
    let text = |k: &str| match item.get(k) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    };
    let num = |k: &str| match item.get(k) {
        Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
        _ => None,
    };
    let strings = |k: &str| match item.get(k) {
        Some(AttributeValue::L(v)) => v.iter().filter_map(|x| x.as_s().ok().cloned()).collect(),
        _ => Vec::new(),
    };
    let time = |k: &str| {
        num(k)
            .and_then(|v| Timestamp::from_second(v).ok())
            .ok_or_else(|| bad(k))
    };
    let flat = Flat {
        iam_user_name: text("iam_user_name"),
        access_key_id: text("access_key_id"),
        role_arn: text("role_arn"),
        session_name: text("session_name"),
        inline_policies: strings("inline_policies"),
        policy_arns: strings("policy_arns"),
        groups: strings("groups"),
    };
    Ok(Lease {
        id: text("id").ok_or_else(|| bad("id"))?,
        profile: text("profile").ok_or_else(|| bad("profile"))?,
        resources: Resources::from_flat(
            &text("credential_type").ok_or_else(|| bad("credential_type"))?,
            flat,
        )?,
        state: State::parse(&text("state").ok_or_else(|| bad("state"))?)?,
        issued_at: time("issued_at")?,
        expires_at: time("expires_at")?,
        caller_arn: text("caller_arn"),
        attempts: num("attempts").map_or(0, |a| u32::try_from(a).unwrap_or(u32::MAX)),
        last_error: text("last_error"),
    })
}

fn item_of(lease: &Lease) -> Item {
    let f = lease.resources.to_flat();
    let mut item: Item = HashMap::new();
    let (k, v) = lease_key(&lease.id);
    item.insert(k, v);
    item.insert("id".into(), s(lease.id.clone()));
    item.insert("profile".into(), s(lease.profile.clone()));
    item.insert("credential_type".into(), s(lease.kind().name()));
    item.insert("state".into(), s(State::Pending.as_str()));
    item.insert("issued_at".into(), n(lease.issued_at.as_second()));
    item.insert("expires_at".into(), n(lease.expires_at.as_second()));
    item.insert("due_at".into(), n(lease.issued_at.as_second()));
    item.insert("live".into(), s(LIVE));
    item.insert("attempts".into(), n(0));
    let optional = [
        ("iam_user_name", f.iam_user_name),
        ("access_key_id", f.access_key_id),
        ("role_arn", f.role_arn),
        ("session_name", f.session_name),
        ("caller_arn", lease.caller_arn.clone()),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            item.insert(k.into(), s(v));
        }
    }
    for (k, v) in [
        ("inline_policies", list(&f.inline_policies)),
        ("policy_arns", list(&f.policy_arns)),
        ("groups", list(&f.groups)),
    ] {
        if let Some(v) = v {
            item.insert(k.into(), v);
        }
    }
    item
}

impl DynamoStore {
    /// A store on `table`, with the standard AWS settings (`AWS_REGION`, profiles,
    /// `AWS_ENDPOINT_URL_DYNAMODB`). The table is regional: its region is the
    /// configured one, else the instance's, never a guess. The table is created when
    /// first found missing.
    pub async fn open(table: &str, settings: Settings) -> Result<DynamoStore> {
        let aws = crate::aws::load(None).await?;
        Ok(DynamoStore::with_config(&aws.config, table, settings))
    }

    /// A store on `table` with an SDK config already loaded.
    pub fn with_config(
        config: &aws_config::SdkConfig,
        table: &str,
        settings: Settings,
    ) -> DynamoStore {
        DynamoStore {
            client: Client::new(config),
            table: table.to_string(),
            settings,
            requests: AtomicU64::new(0),
        }
    }

    /// How many DynamoDB requests this store has sent.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn err<E>(&self, what: &str, e: &SdkError<E, HttpResponse>) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        crate::aws::sdk_error(&format!("{what} in DynamoDB table {}", self.table), e)
    }

    /// The `aws` command that makes the table, for a caller who may not.
    pub fn create_command(table: &str) -> String {
        format!(
            "aws dynamodb create-table --table-name {table} --billing-mode PAY_PER_REQUEST \
--attribute-definitions AttributeName=pk,AttributeType=S AttributeName=state,AttributeType=S \
AttributeName=due_at,AttributeType=N AttributeName=live,AttributeType=S AttributeName=id,AttributeType=S \
--key-schema AttributeName=pk,KeyType=HASH \
--global-secondary-indexes \
'IndexName={DUE_INDEX},KeySchema=[{{AttributeName=state,KeyType=HASH}},{{AttributeName=due_at,KeyType=RANGE}}],Projection={{ProjectionType=ALL}}' \
'IndexName={ID_INDEX},KeySchema=[{{AttributeName=live,KeyType=HASH}},{{AttributeName=id,KeyType=RANGE}}],Projection={{ProjectionType=ALL}}' \
&& aws dynamodb wait table-exists --table-name {table} \
&& aws dynamodb update-time-to-live --table-name {table} --time-to-live-specification Enabled=true,AttributeName={TTL_ATTRIBUTE}"
        )
    }

    /// Creates the table (on-demand billing, both indexes, TTL) and waits until it
    /// is active. Another host creating it at the same time is not an error.
    async fn create_table(&self) -> Result<()> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("name and type are set")
        };
        let attr = |name: &str, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(kind)
                .build()
                .expect("name and type are set")
        };
        let index = |name: &str, hash: &str, range: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(hash, KeyType::Hash))
                .key_schema(key(range, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("name and keys are set")
        };
        self.count();
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk", ScalarAttributeType::S))
            .attribute_definitions(attr("state", ScalarAttributeType::S))
            .attribute_definitions(attr("due_at", ScalarAttributeType::N))
            .attribute_definitions(attr("live", ScalarAttributeType::S))
            .attribute_definitions(attr("id", ScalarAttributeType::S))
            .key_schema(key("pk", KeyType::Hash))
            .global_secondary_indexes(index(DUE_INDEX, "state", "due_at"))
            .global_secondary_indexes(index(ID_INDEX, "live", "id"))
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if code_of(&e) == Some("ResourceInUseException") => {}
            Err(e) => {
                let err = self.err("creating the table", &e);
                return Err(if err.code() == crate::ExitCode::Denied {
                    Error::config(format!(
                        "DynamoDB table {} does not exist, and this identity may not create it ({})",
                        self.table, err
                    ))
                    .hint(format!(
                        "create it once with: {}",
                        Self::create_command(&self.table)
                    ))
                } else {
                    err
                });
            }
        }
        // New tables take a few seconds on AWS; the index is usable once ACTIVE.
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            self.count();
            let out = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| self.err("waiting for the new table", &e))?;
            let ready = out.table().is_some_and(|t| {
                t.table_status().map(|s| s.as_str()) == Some("ACTIVE")
                    && t.global_secondary_indexes()
                        .iter()
                        .all(|i| i.index_status().map(|s| s.as_str()) == Some("ACTIVE"))
            });
            if ready {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(Error::temp_fail(format!(
                    "DynamoDB table {} is not active after 120s",
                    self.table
                ))
                .hint("retry in a minute"));
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        self.count();
        let ttl = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name(TTL_ATTRIBUTE)
                    .build()
                    .expect("fields are set"),
            )
            .send()
            .await;
        match ttl {
            Ok(_) => Ok(()),
            // Another host enabled it first.
            Err(e) if code_of(&e) == Some("ValidationException") => Ok(()),
            // The table is there but would keep every revoked lease and used proof
            // for ever: said now, with the command, since later runs find the table.
            Err(e) => {
                let err = self.err("enabling TTL", &e);
                Err(if err.code() == crate::ExitCode::Denied {
                    Error::config(format!(
                        "DynamoDB table {} was created, but this identity may not turn on its TTL ({err})",
                        self.table
                    ))
                    .hint(format!(
                        "turn it on once with: aws dynamodb update-time-to-live --table-name {} --time-to-live-specification Enabled=true,AttributeName={TTL_ATTRIBUTE}",
                        self.table
                    ))
                } else {
                    err
                })
            }
        }
    }

    /// Sends a request; when the table is missing, creates it and sends it once more.
    async fn send<T, E, F, Fut>(
        &self,
        what: &str,
        call: F,
    ) -> Result<std::result::Result<T, SdkError<E, HttpResponse>>>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.count();
        match call().await {
            Err(e) if missing_table(&e) => {
                crate::cli::log(
                    true,
                    &crate::cli::program(),
                    format_args!(
                        "{what}: DynamoDB table {} is missing; creating it",
                        self.table
                    ),
                );
                self.create_table().await?;
                self.count();
                Ok(call().await)
            }
            other => Ok(other),
        }
    }

    async fn query_all(
        &self,
        index: &str,
        condition: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> Result<Vec<Lease>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .send("querying leases", || {
                    let mut q = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .index_name(index)
                        .key_condition_expression(condition)
                        .set_exclusive_start_key(start.clone());
                    for (k, v) in names {
                        q = q.expression_attribute_names(*k, *v);
                    }
                    for (k, v) in values {
                        q = q.expression_attribute_values(*k, v.clone());
                    }
                    q.send()
                })
                .await?
                .map_err(|e| self.err("querying leases", &e))?;
            for item in page.items() {
                out.push(lease_of(item)?);
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }

    async fn get_item(&self, id: &str) -> Result<Option<Item>> {
        let (k, v) = lease_key(id);
        let out = self
            .send("reading a lease", || {
                self.client
                    .get_item()
                    .table_name(&self.table)
                    .key(k.clone(), v.clone())
                    .consistent_read(true)
                    .send()
            })
            .await?
            .map_err(|e| self.err("reading a lease", &e))?;
        Ok(out.item().cloned())
    }
}

#[async_trait::async_trait]
impl Store for DynamoStore {
    async fn insert_pending(&self, lease: &Lease) -> Result<()> {
        let mut item = item_of(lease);
        // Names this one write, so that a resent one is told apart from a second.
        item.insert("writer".into(), s(format!("{:016x}", super::random_u64())));
        let out = self
            .send("recording a lease", || {
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item.clone()))
                    .condition_expression("attribute_not_exists(pk)")
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .send()
            })
            .await?;
        match out {
            Ok(_) => Ok(()),
            // Our own write, sent again after its answer was lost.
            Err(e) if conflict(&e) && found_item(&e) == Some(&item) => Ok(()),
            Err(e) if conflict(&e) => Err(Error::internal(format!(
                "lease {} already exists in DynamoDB table {}",
                lease.id, self.table
            ))),
            Err(e) => Err(self.err("recording a lease", &e)),
        }
    }

    async fn activate(
        &self,
        id: &str,
        access_key_id: Option<&str>,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let (k, v) = lease_key(id);
        // Names this one update, so that a resent one is told apart from a second.
        let token = format!("{:016x}", super::random_u64());
        let mut update =
            "SET #state = :active, expires_at = :exp, due_at = :exp, activated_by = :token"
                .to_string();
        if access_key_id.is_some() {
            update.push_str(", access_key_id = :key");
        }
        let out = self
            .send("activating a lease", || {
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .key(k.clone(), v.clone())
                    .update_expression(&update)
                    .condition_expression("#state = :pending")
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .expression_attribute_names("#state", "state")
                    .set_expression_attribute_values({
                        let mut m: Item = HashMap::new();
                        m.insert(":active".into(), s(State::Active.as_str()));
                        m.insert(":pending".into(), s(State::Pending.as_str()));
                        m.insert(":exp".into(), n(expires_at.as_second()));
                        m.insert(":token".into(), s(&token));
                        if let Some(key) = access_key_id {
                            m.insert(":key".into(), s(key));
                        }
                        Some(m)
                    })
                    .send()
            })
            .await?;
        // A lease already active by this very update: it was sent again after its
        // answer was lost.
        let ours = |item: &Item| {
            item.get("state") == Some(&s(State::Active.as_str()))
                && item.get("activated_by") == Some(&s(&token))
        };
        match out {
            Ok(_) => Ok(true),
            Err(e) if conflict(&e) => Ok(found_item(&e).is_some_and(ours)),
            Err(e) => Err(self.err("activating a lease", &e)),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<Lease>> {
        self.get_item(id).await?.as_ref().map(lease_of).transpose()
    }

    async fn due(&self, now: Timestamp, pending_before: Timestamp) -> Result<Vec<Lease>> {
        let names = [("#state", "state")];
        let mut out = Vec::new();
        for (state, op, until) in [
            (State::Active, "<=", now.as_second()),
            (State::Pending, "<=", pending_before.as_second()),
            (State::Failed, "<=", i64::MAX),
            (State::Revoking, "<", now.as_second()),
        ] {
            out.extend(
                self.query_all(
                    DUE_INDEX,
                    &format!("#state = :state AND due_at {op} :until"),
                    &names,
                    &[(":state", s(state.as_str())), (":until", n(until))],
                )
                .await?,
            );
        }
        Ok(out)
    }

    async fn live_with_prefix(&self, prefix: &str) -> Result<Vec<Lease>> {
        let mut leases = self
            .query_all(
                ID_INDEX,
                "live = :live AND begins_with(id, :prefix)",
                &[],
                &[(":live", s(LIVE)), (":prefix", s(prefix))],
            )
            .await?;
        leases.retain(|l| l.state != State::Revoked);
        Ok(leases)
    }

    async fn claim(&self, id: &str, owner: &str, now: Timestamp, hold: Duration) -> Result<Claim> {
        let (k, v) = lease_key(id);
        let until = now
            .as_second()
            .saturating_add(i64::try_from(hold.as_secs()).unwrap_or(i64::MAX));
        let out = self
            .send("claiming a lease", || {
                let mut values: Item = HashMap::new();
                values.insert(":revoking".into(), s(State::Revoking.as_str()));
                values.insert(":revoked".into(), s(State::Revoked.as_str()));
                values.insert(":owner".into(), s(owner));
                values.insert(":now".into(), n(now.as_second()));
                values.insert(":until".into(), n(until));
                values.insert(":one".into(), n(1));
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .key(k.clone(), v.clone())
                    .update_expression(
                        "SET #state = :revoking, claimed_by = :owner, hold_until = :until, \
                         due_at = :until ADD attempts :one",
                    )
                    .condition_expression(
                        "attribute_exists(pk) AND #state <> :revoked AND \
                         (#state <> :revoking OR hold_until < :now OR claimed_by = :owner)",
                    )
                    .expression_attribute_names("#state", "state")
                    .set_expression_attribute_values(Some(values))
                    .return_values(ReturnValue::AllNew)
                    .send()
            })
            .await?;
        match out {
            Ok(o) => {
                let item = o
                    .attributes()
                    .ok_or_else(|| Error::internal("DynamoDB answered a claim without the item"))?;
                Ok(Claim::Claimed(lease_of(item)?))
            }
            Err(e) if conflict(&e) => match self.get(id).await? {
                None => Ok(Claim::Unknown),
                Some(l) if l.state == State::Revoked => Ok(Claim::AlreadyRevoked(l)),
                Some(_) => Ok(Claim::Busy),
            },
            Err(e) => Err(self.err("claiming a lease", &e)),
        }
    }

    async fn finish(&self, id: &str, owner: &str, error: Option<&str>) -> Result<()> {
        let (k, v) = lease_key(id);
        let mut values: Item = HashMap::new();
        values.insert(":owner".into(), s(owner));
        values.insert(":revoking".into(), s(State::Revoking.as_str()));
        let update = match error {
            None => {
                let retain = i64::try_from(self.settings.retain.as_secs()).unwrap_or(i64::MAX);
                values.insert(":revoked".into(), s(State::Revoked.as_str()));
                values.insert(
                    ":ttl".into(),
                    n(Timestamp::now().as_second().saturating_add(retain)),
                );
                format!(
                    "SET #state = :revoked, {TTL_ATTRIBUTE} = :ttl REMOVE claimed_by, hold_until, due_at, live, last_error"
                )
            }
            Some(e) => {
                values.insert(":failed".into(), s(State::Failed.as_str()));
                values.insert(":zero".into(), n(0));
                values.insert(":error".into(), s(e.chars().take(1000).collect::<String>()));
                "SET #state = :failed, due_at = :zero, last_error = :error REMOVE claimed_by, hold_until".to_string()
            }
        };
        let out = self
            .send("finishing a lease", || {
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .key(k.clone(), v.clone())
                    .update_expression(&update)
                    .condition_expression("#state = :revoking AND claimed_by = :owner")
                    .expression_attribute_names("#state", "state")
                    .set_expression_attribute_values(Some(values.clone()))
                    .send()
            })
            .await?;
        match out {
            // A claim that lapsed and was taken over: the other sweeper records it.
            Ok(_) => Ok(()),
            Err(e) if conflict(&e) => Ok(()),
            Err(e) => Err(self.err("finishing a lease", &e)),
        }
    }

    async fn use_proof(&self, hash: &str, expires_at: Timestamp) -> Result<bool> {
        let mut item: Item = HashMap::new();
        item.insert("pk".into(), s(format!("proof#{hash}")));
        item.insert(TTL_ATTRIBUTE.into(), n(expires_at.as_second()));
        // Names this one write, so that it is told apart from another verifier's.
        item.insert("writer".into(), s(format!("{:016x}", super::random_u64())));
        let now = Timestamp::now().as_second();
        let out = self
            .send("recording a used proof", || {
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item.clone()))
                    // TTL deletes lazily: a record past its expiry no longer counts.
                    .condition_expression("attribute_not_exists(pk) OR #ttl < :now")
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                    .expression_attribute_values(":now", n(now))
                    .send()
            })
            .await?;
        match out {
            Ok(_) => Ok(true),
            // The record is this call's own, sent again after its answer was lost.
            Err(e) if conflict(&e) => Ok(found_item(&e) == Some(&item)),
            Err(e) => Err(self.err("recording a used proof", &e)),
        }
    }

    async fn prune(&self, _now: Timestamp) -> Result<u64> {
        // DynamoDB's TTL deletes revoked leases and used proofs.
        Ok(0)
    }

    fn describe(&self) -> String {
        format!(
            "DynamoDB table {} ({} requests)",
            self.table,
            self.requests()
        )
    }
}
