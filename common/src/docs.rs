//! The JSON documents the tools pass to one another. These shapes are the contract of
//! DESIGN.md: fields may be added, never renamed. Inputs that a typo could change the
//! meaning of (login proofs) reject unknown fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a proof may ask the broker-side tools for (`{"secret_id": "ci/db"}`). Not covered
/// by the signature: it only chooses among what the login role's grants allow.
pub type Request = Map<String, Value>;

/// A login proof in Vault's `aws` auth (iam) login payload shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultProof {
    pub iam_http_request_method: String,
    /// base64 of the signed URL
    pub iam_request_url: String,
    /// base64 of the signed body
    pub iam_request_body: String,
    /// base64 of a JSON object of header name to a list of values (or one value)
    pub iam_request_headers: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
}

/// A Kubernetes client-go `ExecCredential`, as `aws eks get-token` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecCredential {
    pub kind: String,
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    #[serde(default)]
    pub spec: Map<String, Value>,
    pub status: ExecCredentialStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecCredentialStatus {
    #[serde(rename = "expirationTimestamp")]
    pub expiration_timestamp: String,
    /// `k8s-aws-v1.` + unpadded base64url of a presigned GetCallerIdentity URL
    pub token: String,
}

/// An Akeyless AWS IAM auth proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkeylessProof {
    /// base64 of a JSON object with the base64 `sts_request_*` fields
    pub cloud_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
}

/// The inner document of an Akeyless `cloud_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AkeylessCloudId {
    pub sts_request_method: String,
    pub sts_request_url: String,
    pub sts_request_body: String,
    pub sts_request_headers: String,
}

/// Who STS says the caller is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub account_id: String,
    /// The ARN exactly as STS returned it.
    pub arn: String,
    /// The IAM ARN of the principal: an assumed role becomes its role's ARN.
    pub canonical_arn: String,
    pub user_id: String,
    /// `user`, `assumed-role` or `role`
    pub principal_type: String,
    /// The user or role name (friendly name).
    pub principal_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
}

/// verify-login's output: a verified identity and the login role it matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifiedIdentity {
    pub identity: Identity,
    pub role: String,
    /// RFC 3339 UTC time of verification.
    pub verified_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    /// The SHA-256 of the proof's signature: what audit lines and single-use records
    /// name it by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_hash: Option<String>,
}

/// One refused item of a batch, on stdout in the item's place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorLine {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The exit code this failure alone would have given.
    pub code: u8,
    pub message: String,
}

impl ErrorLine {
    pub fn new(code: crate::ExitCode, message: impl Into<String>) -> Self {
        ErrorLine {
            error: ErrorBody {
                code: code as u8,
                message: message.into(),
            },
        }
    }
}

/// fetch-secret's output: one secret version. With a verified caller on stdin, the
/// caller's identity document travels along (its fields sit beside the secret's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Secret {
    pub name: String,
    pub arn: String,
    pub version_id: String,
    pub version_stages: Vec<String>,
    /// RFC 3339 UTC.
    pub created_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_string: Option<String>,
    /// base64 of the secret's bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_binary: Option<String>,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<VerifiedIdentity>,
}

/// True for an id of the shape mint-creds gives every lease,
/// `creds/<profile>/<16 hex digits>`. Anything else piped to revoke-lease (an
/// `export AWS_SECRET_ACCESS_KEY=...` line, say) is refused without being echoed.
pub fn is_lease_id(id: &str) -> bool {
    let Some((profile, random)) = id.strip_prefix("creds/").and_then(|r| r.rsplit_once('/')) else {
        return false;
    };
    !profile.is_empty()
        && profile.len() <= 128
        && !profile.contains('/')
        && profile.chars().all(|c| c.is_ascii_graphic())
        && random.len() == 16
        && random
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// mint-creds' output: credentials under a lease.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    /// `creds/<profile>/<random>`
    pub lease_id: String,
    /// `assumed_role`, `federation_token`, `session_token` or `iam_user`
    pub credential_type: String,
    /// Seconds from issue to expiry.
    pub lease_duration: u64,
    pub renewable: bool,
    pub issued_at: String,
    pub expires_at: String,
    pub credentials: ProcessCredentials,
}

/// Exactly the AWS `credential_process` output shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessCredentials {
    #[serde(rename = "Version")]
    pub version: u8,
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    #[serde(rename = "SecretAccessKey")]
    pub secret_access_key: String,
    #[serde(
        rename = "SessionToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub session_token: Option<String>,
    #[serde(
        rename = "Expiration",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expiration: Option<String>,
}

/// revoke-lease's output: what happened to one lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub lease_id: String,
    pub status: RevocationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For `expires_only`: when the credentials stop working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationStatus {
    Revoked,
    AlreadyRevoked,
    /// STS credentials cannot be deleted; they stop working at `expires_at`.
    ExpiresOnly,
    Failed,
    /// `--dry-run`: this lease would be revoked.
    WouldRevoke,
}

impl RevocationStatus {
    /// The name in documents and audit lines.
    pub fn name(self) -> &'static str {
        match self {
            RevocationStatus::Revoked => "revoked",
            RevocationStatus::AlreadyRevoked => "already_revoked",
            RevocationStatus::ExpiresOnly => "expires_only",
            RevocationStatus::Failed => "failed",
            RevocationStatus::WouldRevoke => "would_revoke",
        }
    }
}

/// One audit line (`[audit] path`): one decision of one tool. Never a secret value,
/// key or token; a proof is named by the SHA-256 of its signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// RFC 3339 UTC.
    pub time: String,
    pub tool: String,
    pub host: String,
    pub pid: u32,
    /// login, read_secret, mint, revoke, sweep.
    pub action: String,
    /// accepted (a login), granted (a secret read or a lease minted), reused (a cached
    /// credential_process lease handed out again), refused, failed,
    /// or a revocation's status (revoked, already_revoked, expires_only, would_revoke).
    pub outcome: String,
    pub exit_code: i32,
    /// The verified caller, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<AuditCaller>,
    #[serde(default, skip_serializing_if = "AuditTarget::is_empty")]
    pub target: AuditTarget,
    /// Why it was refused or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditCaller {
    pub arn: String,
    pub user_id: String,
    pub role: String,
}

/// What a decision was about; only the fields that apply are written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
}

impl AuditTarget {
    pub fn is_empty(&self) -> bool {
        *self == AuditTarget::default()
    }
}
