//! The token file's content: JSON, optionally sealed with an [`EncryptionKey`].
//!
//! ```json
//! { "format": 1, "records": [ { "integration": "freshservice", "user": null, "version": 3,
//!   "access_token": "…", "refresh_token": "…", "expires_at": 1767225600,
//!   "scopes": ["freshservice.tickets.create"],
//!   "requested_scopes": ["freshservice.tickets.create"], "extra": { "token_type": "Bearer" },
//!   "needs_reauthorization": null } ] }
//! ```
//!
//! `scopes` are those the server said it granted; `requested_scopes` and `extra` are absent
//! from files written before they were kept, and such files open as they are. A record of a
//! named installation says which (`"installation": "acme"`); the default installation's
//! records say nothing, as files written before installations existed, whose tokens are
//! therefore the default installation's.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::crypt::{EncryptionKey, MAGIC};
use super::{StoreError, Version, Versioned};
use crate::tokens::{DeadToken, InstallationId, Subject, TokenKey, TokenRecord, TokenSet, UserId};

const FORMAT: u32 = 1;

/// A token file's records, and the highest version it ever gave (so versions never repeat,
/// even after a delete).
#[derive(Default)]
pub(crate) struct Records {
    pub(crate) by_key: HashMap<TokenKey, Versioned>,
    pub(crate) highest_version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: u32,
    #[serde(default)]
    highest_version: u64,
    records: Vec<Record>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    /// The installation's id; absent for the default installation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    installation: String,
    integration: String,
    user: Option<String>,
    version: u64,
    access_token: String,
    refresh_token: Option<String>,
    /// Seconds since the Unix epoch.
    expires_at: Option<u64>,
    /// The scopes the server said it granted.
    scopes: Option<Vec<String>>,
    /// The scopes asked for at the authorization; absent in records of earlier versions,
    /// which therefore never need reauthorization for scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested_scopes: Option<Vec<String>>,
    /// The token response's other fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    extra: Option<serde_json::Map<String, serde_json::Value>>,
    needs_reauthorization: Option<String>,
}

/// Reads a token file's bytes.
pub(crate) fn decode(
    bytes: &[u8],
    key: Option<&EncryptionKey>,
    path: &Path,
) -> Result<Records, StoreError> {
    let decrypt = |reason| StoreError::Decrypt {
        path: path.to_path_buf(),
        reason,
    };
    let plain;
    let json = match (bytes.strip_prefix(MAGIC), key) {
        (Some(sealed), Some(key)) => {
            plain = key.open(sealed).map_err(decrypt)?;
            plain.as_slice()
        }
        (Some(_), None) => return Err(decrypt("is encrypted: give the store its key")),
        (None, Some(_)) if !bytes.is_empty() => {
            return Err(decrypt(
                "is not encrypted, but the store was given a key (refusing to read plain \
                 tokens where encrypted ones are expected)",
            ));
        }
        (None, _) => bytes,
    };
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    // Only the kind and place of the error: serde_json's own message may quote a value.
    let file: File = serde_json::from_slice(json).map_err(|e| {
        corrupt(format!(
            "{} at line {} column {}",
            match e.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    "not JSON"
                }
                _ => "not a token file",
            },
            e.line(),
            e.column()
        ))
    })?;
    if file.format != FORMAT {
        return Err(corrupt(format!(
            "format {} is not one this version reads ({FORMAT})",
            file.format
        )));
    }
    let mut records = Records {
        by_key: HashMap::with_capacity(file.records.len()),
        highest_version: file.highest_version,
    };
    for record in file.records {
        let (key, versioned) = from_record(record).map_err(corrupt)?;
        records.highest_version = records.highest_version.max(versioned.version.get());
        if records.by_key.insert(key, versioned).is_some() {
            return Err(corrupt("a key appears twice".to_string()));
        }
    }
    Ok(records)
}

/// A stored record back as its key and versioned tokens; `Err` says what is wrong.
fn from_record(record: Record) -> Result<(TokenKey, Versioned), String> {
    let key = TokenKey {
        installation: InstallationId::new(&record.installation),
        integration: record.integration.into(),
        subject: match record.user {
            Some(user) => Subject::User(UserId::new(user)),
            None => Subject::Installation,
        },
    };
    let needs_reauthorization = match record.needs_reauthorization.as_deref() {
        None => None,
        Some(text) => {
            Some(DeadToken::parse(text).ok_or_else(|| format!("unknown token state `{text}`"))?)
        }
    };
    let mut tokens = TokenSet::new(record.access_token);
    if let Some(refresh) = record.refresh_token {
        tokens = tokens.with_refresh_token(refresh);
    }
    if let Some(seconds) = record.expires_at {
        let at = UNIX_EPOCH
            .checked_add(Duration::from_secs(seconds))
            .ok_or_else(|| format!("an expiry ({seconds}) past what the clock can hold"))?;
        tokens = tokens.with_expires_at(at);
    }
    if record.version == u64::MAX {
        return Err("a record version at the limit of what versions can count".to_string());
    }
    if let Some(scopes) = record.scopes {
        tokens = tokens.with_granted_scopes(scopes);
    }
    if let Some(scopes) = record.requested_scopes {
        tokens = tokens.with_requested_scopes(scopes);
    }
    if let Some(extra) = record.extra {
        tokens = tokens.with_extra(extra);
    }
    Ok((
        key,
        Versioned {
            record: TokenRecord {
                tokens,
                needs_reauthorization,
            },
            version: Version::new(record.version),
        },
    ))
}

fn to_record(key: &TokenKey, versioned: &Versioned) -> Record {
    let tokens = &versioned.record.tokens;
    Record {
        installation: key.installation.as_str().to_string(),
        integration: key.integration.to_string(),
        user: match &key.subject {
            Subject::Installation => None,
            Subject::User(user) => Some(user.as_str().to_string()),
        },
        version: versioned.version.get(),
        access_token: tokens.access_token().secret().to_string(),
        refresh_token: tokens.refresh_token().map(str::to_string),
        expires_at: tokens
            .expires_at()
            .map(|at| at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()),
        scopes: tokens.granted_scopes().map(<[String]>::to_vec),
        requested_scopes: tokens.requested_scopes().map(<[String]>::to_vec),
        extra: (!tokens.extra().is_empty()).then(|| tokens.extra().clone()),
        needs_reauthorization: versioned
            .record
            .needs_reauthorization
            .map(|d| d.as_str().to_string()),
    }
}

/// One record alone (a database row's content), sealed when `key` is given.
#[cfg(feature = "postgres")]
pub(crate) fn encode_one(
    key: &TokenKey,
    versioned: &Versioned,
    encryption: Option<&EncryptionKey>,
) -> Result<Vec<u8>, &'static str> {
    let json =
        serde_json::to_vec(&to_record(key, versioned)).map_err(|_| "could not be serialized")?;
    match encryption {
        Some(encryption) => encryption.seal(&json),
        None => Ok(json),
    }
}

/// What [`encode_one`] wrote.
#[cfg(feature = "postgres")]
pub(crate) fn decode_one(
    bytes: &[u8],
    encryption: Option<&EncryptionKey>,
) -> Result<Versioned, String> {
    let plain;
    let json = match (bytes.strip_prefix(MAGIC), encryption) {
        (Some(sealed), Some(key)) => {
            plain = key.open(sealed).map_err(str::to_string)?;
            plain.as_slice()
        }
        (Some(_), None) => return Err("is encrypted: give the store its key".to_string()),
        (None, Some(_)) => {
            return Err("is not encrypted, but the store was given a key".to_string());
        }
        (None, None) => bytes,
    };
    let record: Record = serde_json::from_slice(json).map_err(|e| {
        format!(
            "not a token record at line {} column {}",
            e.line(),
            e.column()
        )
    })?;
    from_record(record).map(|(_, versioned)| versioned)
}

/// Writes a token file's bytes.
pub(crate) fn encode(
    records: &Records,
    key: Option<&EncryptionKey>,
    path: &Path,
) -> Result<Vec<u8>, StoreError> {
    let mut list: Vec<Record> = records
        .by_key
        .iter()
        .map(|(key, versioned)| to_record(key, versioned))
        .collect();
    // A stable order keeps the file diffable and its writes reproducible.
    list.sort_by(|a, b| (&a.integration, &a.user).cmp(&(&b.integration, &b.user)));
    let json = serde_json::to_vec_pretty(&File {
        format: FORMAT,
        highest_version: records.highest_version,
        records: list,
    })
    .map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    match key {
        Some(key) => key.seal(&json).map_err(|reason| StoreError::Decrypt {
            path: path.to_path_buf(),
            reason,
        }),
        None => Ok(json),
    }
}
