//! Reading secrets: GetSecretValue, or BatchGetSecretValue for several current
//! versions at once, with Secrets Manager's errors turned into exit codes and hints.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::types::SecretValueEntry;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use base64::Engine;
use common::docs::Secret;
use common::{Error, Result};

/// Which version to read.
#[derive(Debug, Clone, Default)]
pub struct Version {
    pub id: Option<String>,
    pub stage: Option<String>,
}

impl Version {
    /// The current version, which BatchGetSecretValue can read.
    fn is_current(&self) -> bool {
        self.id.is_none() && self.stage.as_deref().is_none_or(|s| s == "AWSCURRENT")
    }
}

/// BatchGetSecretValue reads at most 20 secrets per call.
const BATCH_LIMIT: usize = 20;

fn date(d: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    d.and_then(|d| d.fmt(Format::DateTime).ok())
}

fn binary(b: Option<&aws_smithy_types::Blob>) -> Option<String> {
    b.map(|b| base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
}

fn from_get(out: GetSecretValueOutput) -> Secret {
    Secret {
        name: out.name.unwrap_or_default(),
        arn: out.arn.unwrap_or_default(),
        version_id: out.version_id.unwrap_or_default(),
        version_stages: out.version_stages.unwrap_or_default(),
        created_date: date(out.created_date.as_ref()),
        secret_string: out.secret_string,
        secret_binary: binary(out.secret_binary.as_ref()),
        caller: None,
    }
}

fn from_entry(e: SecretValueEntry) -> Secret {
    Secret {
        name: e.name.unwrap_or_default(),
        arn: e.arn.unwrap_or_default(),
        version_id: e.version_id.unwrap_or_default(),
        version_stages: e.version_stages.unwrap_or_default(),
        created_date: date(e.created_date.as_ref()),
        secret_string: e.secret_string,
        secret_binary: binary(e.secret_binary.as_ref()),
        caller: None,
    }
}

/// The error for one secret, from its Secrets Manager error code.
fn secret_error(id: &str, code: &str, message: &str, region: &str) -> Option<Error> {
    let lower = message.to_ascii_lowercase();
    Some(match code {
        "ResourceNotFoundException" => Error::not_found(format!("secret `{id}` not found in {region}"))
            .hint("check the name (or ARN) and the region; list them with: aws secretsmanager list-secrets"),
        "InvalidRequestException" if lower.contains("delet") => {
            Error::not_found(format!("secret `{id}` is scheduled for deletion")).hint(format!(
                "restore it with: aws secretsmanager restore-secret --secret-id {id}"
            ))
        }
        "DecryptionFailure" => Error::denied(format!("secret `{id}` cannot be decrypted: {message}"))
            .hint("the caller needs kms:Decrypt on the secret's KMS key"),
        c if c.contains("AccessDenied") => Error::denied(format!("access to secret `{id}` is denied"))
            .hint(format!("the caller needs secretsmanager:GetSecretValue on {id} (and kms:Decrypt on its key)")),
        _ => return None,
    })
}

/// Reads one secret.
pub async fn one(client: &Client, id: &str, version: &Version) -> Result<Secret> {
    let result = client
        .get_secret_value()
        .secret_id(id)
        .set_version_id(version.id.clone())
        .set_version_stage(version.stage.clone())
        .send()
        .await;
    result.map(from_get).map_err(|err| {
        let region = client
            .config()
            .region()
            .map_or("the configured region".to_string(), |r| r.to_string());
        if let Some(service) = err.as_service_error()
            && let Some(e) = secret_error(
                id,
                service.code().unwrap_or(""),
                service.message().unwrap_or(""),
                &region,
            )
        {
            return e;
        }
        // A 403 whose body the SDK could not read (a proxy, an emulator) is a denial too.
        if err
            .raw_response()
            .is_some_and(|r| r.status().as_u16() == 403)
        {
            return secret_error(id, "AccessDenied", "", &region).expect("AccessDenied is mapped");
        }
        common::aws::sdk_error(&format!("reading secret `{id}`"), &err)
    })
}

/// Reads several secrets, in the order asked, each with its own result. Current
/// versions go through BatchGetSecretValue (falling back to one call per secret when
/// the caller may not batch); other versions are read one by one, concurrently.
pub async fn many(client: &Client, ids: &[String], version: &Version) -> Vec<Result<Secret>> {
    let mut results: Vec<Option<Result<Secret>>> = ids.iter().map(|_| None).collect();
    if ids.len() > 1 && version.is_current() {
        for (chunk_index, chunk) in ids.chunks(BATCH_LIMIT).enumerate() {
            let Ok(out) = client
                .batch_get_secret_value()
                .set_secret_id_list(Some(chunk.to_vec()))
                .send()
                .await
            else {
                break;
            };
            let base = chunk_index * BATCH_LIMIT;
            for entry in out.secret_values.unwrap_or_default() {
                let secret = from_entry(entry);
                for (i, id) in chunk.iter().enumerate() {
                    if results[base + i].is_none() && (id == &secret.name || id == &secret.arn) {
                        results[base + i] = Some(Ok(secret.clone()));
                    }
                }
            }
        }
    }
    // Whatever the batch did not answer (errors, partial ARNs, no permission) is read
    // one by one, so each gets GetSecretValue's own error.
    let mut pending = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if results[i].is_none() {
            let (client, id, version) = (client.clone(), id.clone(), version.clone());
            pending.push((
                i,
                tokio::spawn(async move { one(&client, &id, &version).await }),
            ));
        }
    }
    for (i, task) in pending {
        results[i] = Some(
            task.await
                .unwrap_or_else(|e| Err(Error::internal(format!("fetch task failed: {e}")))),
        );
    }
    results
        .into_iter()
        .map(|r| r.expect("every secret has a result"))
        .collect()
}
