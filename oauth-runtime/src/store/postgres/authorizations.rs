//! Authorizations in flight in PostgreSQL (`oauth_authorizations`), so that one started on any
//! replica completes on any other, once: taking one deletes its row, and only the first
//! taker gets it. Expired rows are purged whenever one is kept.

use std::time::SystemTime;

use super::{PostgresStore, backend, subject_of, subject_text};
use crate::store::crypt::MAGIC;
use crate::store::{Kept, SharedAuthorization, StoreError};
use crate::tokens::InstallationId;

/// A subject's authorizations of one integration beyond this many go, oldest first.
const PER_SUBJECT: i64 = 3;

impl PostgresStore {
    /// Keeps `authorization` unless its installation has `max` of its integration in flight.
    pub(super) async fn keep(
        &self,
        authorization: &SharedAuthorization,
        max: usize,
    ) -> Result<Kept, StoreError> {
        let verifier = match authorization.verifier() {
            Some(verifier) => Some(self.seal(verifier.as_bytes())?),
            None => None,
        };
        let subject = subject_text(&authorization.subject);
        let installation = authorization.installation.as_str();
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let expires_at = authorization.expires_at;
        let redirect_uri = authorization.redirect_uri.as_str();
        // Not repeated on a lost connection (as reads and fenced writes are): a repeated
        // insert would find its own row and say `TooMany`.
        let client = self.client().await?;
        // One statement (the connection is shared: no transaction spans statements): the
        // purge; whether the installation has room once the subject's oldest beyond its share
        // go; and only then those going and the insert. (A bound replicas may overshoot by
        // the few that insert at the same moment.)
        let row = client
            .query_opt(
                "WITH purged AS (
                     DELETE FROM oauth_authorizations WHERE expires_at < now()),
                 surplus AS (
                     SELECT state_hash FROM oauth_authorizations
                     WHERE installation = $2 AND integration = $3 AND subject = $4
                       AND expires_at >= now()
                     ORDER BY expires_at DESC OFFSET $9),
                 room AS (
                     SELECT (SELECT count(*) FROM oauth_authorizations
                             WHERE installation = $2 AND integration = $3
                               AND expires_at >= now())
                            - (SELECT count(*) FROM surplus) < $8 AS ok),
                 oldest AS (
                     DELETE FROM oauth_authorizations
                     WHERE state_hash IN (SELECT state_hash FROM surplus)
                       AND (SELECT ok FROM room))
                 INSERT INTO oauth_authorizations
                     (state_hash, installation, integration, subject, verifier,
                      redirect_uri, expires_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7
                 WHERE (SELECT ok FROM room)
                 ON CONFLICT DO NOTHING
                 RETURNING 1",
                &[
                    &authorization.state_hash,
                    &installation,
                    &authorization.integration,
                    &subject,
                    &verifier,
                    &redirect_uri,
                    &expires_at,
                    &max,
                    &(PER_SUBJECT - 1),
                ],
            )
            .await
            .map_err(backend)?;
        Ok(match row {
            Some(_) => Kept::Kept,
            None => Kept::TooMany,
        })
    }

    /// Takes (deletes and returns) the authorization of `state_hash`, if it is still there.
    pub(super) async fn take(
        &self,
        state_hash: &str,
    ) -> Result<Option<SharedAuthorization>, StoreError> {
        // Not repeated on a lost connection either: a second delete finds nothing, and the
        // user starts again, which is safe; a completed authorization is never completed twice.
        let row = self
            .client()
            .await?
            .query_opt(
                "DELETE FROM oauth_authorizations WHERE state_hash = $1
                 RETURNING installation, integration, subject, verifier, redirect_uri, expires_at",
                &[&state_hash],
            )
            .await
            .map_err(backend)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let corrupt = |reason: &str| StoreError::Corrupt {
            path: "oauth_authorizations".into(),
            reason: reason.to_string(),
        };
        let installation: String = row.try_get(0).map_err(backend)?;
        let integration: String = row.try_get(1).map_err(backend)?;
        let subject: String = row.try_get(2).map_err(backend)?;
        let verifier: Option<Vec<u8>> = row.try_get(3).map_err(backend)?;
        let redirect_uri: String = row.try_get(4).map_err(backend)?;
        let expires_at: SystemTime = row.try_get(5).map_err(backend)?;
        let verifier = match verifier {
            Some(sealed) => Some(
                String::from_utf8(self.open(&sealed)?)
                    .map_err(|_| corrupt("a verifier that is not text"))?,
            ),
            None => None,
        };
        let redirect_uri =
            url::Url::parse(&redirect_uri).map_err(|_| corrupt("a redirect URI that is no URL"))?;
        Ok(Some(SharedAuthorization::restore(
            state_hash.to_string(),
            InstallationId::new(installation),
            integration,
            subject_of(&subject),
            verifier,
            redirect_uri,
            expires_at,
        )))
    }

    /// `bytes` sealed with the store's key, or as they are without one (as the records).
    fn seal(&self, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
        match &self.inner.key {
            Some(key) => key.seal(bytes).map_err(|reason| StoreError::Corrupt {
                path: "oauth_authorizations".into(),
                reason: reason.to_string(),
            }),
            None => Ok(bytes.to_vec()),
        }
    }

    fn open(&self, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
        match &self.inner.key {
            // `seal` writes the magic first; `open` takes what follows it.
            Some(key) => key
                .open(bytes.strip_prefix(MAGIC).unwrap_or(bytes))
                .map_err(|reason| StoreError::Corrupt {
                    path: "oauth_authorizations".into(),
                    reason: reason.to_string(),
                }),
            None => Ok(bytes.to_vec()),
        }
    }
}
