//! hookd's OAuth clients, grants, codes and tokens on SQLite (see `store::oauth`). Every change
//! runs on the one writer connection, each in its own transaction.

use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::Sqlite;
use crate::store::StoreError;
use crate::store::oauth::{
    OauthClient, OauthCode, OauthGrant, OauthStore, OauthToken, Rotation, in_family,
};
use crate::time::format_time;

const GRANT: &str = "g.family, g.client_id, g.scope, g.resource, g.created_at";
const CLIENT: &str = "c.id, c.name, c.redirect_uris, c.metadata, c.created_at, c.expires_at";

fn grant(r: &Row<'_>, at: usize) -> rusqlite::Result<OauthGrant> {
    Ok(OauthGrant {
        family: r.get(at)?,
        client_id: r.get(at + 1)?,
        scope: r.get(at + 2)?,
        resource: r.get(at + 3)?,
        created_at: super::time(r, at + 4)?,
    })
}

fn client(r: &Row<'_>, at: usize) -> rusqlite::Result<OauthClient> {
    let expires: Option<String> = r.get(at + 5)?;
    Ok(OauthClient {
        id: r.get(at)?,
        name: r.get(at + 1)?,
        redirect_uris: r.get(at + 2)?,
        metadata: r.get(at + 3)?,
        created_at: super::time(r, at + 4)?,
        expires_at: match expires {
            Some(_) => Some(super::time(r, at + 5)?),
            None => None,
        },
    })
}

/// Whether `family` stands (exists and is not revoked).
fn stands(c: &Connection, family: &str) -> rusqlite::Result<bool> {
    c.prepare_cached("SELECT 1 FROM oauth_grants WHERE family = ?1 AND revoked_at IS NULL")?
        .exists([family])
}

fn insert_tokens(c: &Connection, tokens: &[OauthToken]) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(
        "INSERT INTO oauth_tokens (hash, family, kind, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for t in tokens {
        stmt.execute(params![
            t.hash,
            t.family,
            t.kind.as_str(),
            format_time(t.expires_at)
        ])?;
    }
    Ok(())
}

fn revoke_family(c: &Connection, family: &str) -> rusqlite::Result<bool> {
    let now = format_time(Utc::now());
    let n = c
        .prepare_cached(
            "UPDATE oauth_grants SET revoked_at = ?2 WHERE family = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![family, now])?;
    c.prepare_cached("DELETE FROM oauth_tokens WHERE family = ?1")?
        .execute([family])?;
    c.prepare_cached("DELETE FROM oauth_codes WHERE family = ?1")?
        .execute([family])?;
    Ok(n == 1)
}

#[async_trait]
impl OauthStore for Sqlite {
    async fn save_client(&self, cl: OauthClient) -> Result<(), StoreError> {
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO oauth_clients (id, name, redirect_uris, metadata, created_at,
                     expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                     redirect_uris = excluded.redirect_uris, metadata = excluded.metadata,
                     expires_at = excluded.expires_at",
            )?
            .execute(params![
                cl.id,
                cl.name,
                cl.redirect_uris,
                cl.metadata,
                format_time(cl.created_at),
                cl.expires_at.map(format_time),
            ])?;
            Ok(())
        })
        .await
    }

    async fn client(&self, id: String) -> Result<Option<OauthClient>, StoreError> {
        self.read(move |c| {
            let sql = format!("SELECT {CLIENT} FROM oauth_clients c WHERE c.id = ?1");
            Ok(c.prepare_cached(&sql)?
                .query_row([id], |r| client(r, 0))
                .optional()?)
        })
        .await
    }

    async fn grant_with_code(&self, g: OauthGrant, code: OauthCode) -> Result<(), StoreError> {
        self.write(move |c| {
            let tx = c.transaction()?;
            tx.prepare_cached(
                "INSERT INTO oauth_grants (family, client_id, scope, resource, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                g.family,
                g.client_id,
                g.scope,
                g.resource,
                format_time(g.created_at)
            ])?;
            tx.prepare_cached(
                "INSERT INTO oauth_codes (hash, family, redirect_uri, challenge, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                code.hash,
                code.family,
                code.redirect_uri,
                code.challenge,
                format_time(code.expires_at)
            ])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn take_code(&self, hash: String) -> Result<Option<(OauthCode, OauthGrant)>, StoreError> {
        let now = format_time(Utc::now());
        self.write(move |c| {
            let tx = c.transaction()?;
            // DELETE … RETURNING: of two requests with one code, only one gets its row.
            let code = tx
                .prepare_cached(
                    "DELETE FROM oauth_codes WHERE hash = ?1
                     RETURNING hash, family, redirect_uri, challenge, expires_at",
                )?
                .query_row([&hash], |r| {
                    Ok(OauthCode {
                        hash: r.get(0)?,
                        family: r.get(1)?,
                        redirect_uri: r.get(2)?,
                        challenge: r.get(3)?,
                        expires_at: super::time(r, 4)?,
                    })
                })
                .optional()?;
            let found = match code {
                Some(code) if format_time(code.expires_at) > now => {
                    let sql = format!(
                        "SELECT {GRANT} FROM oauth_grants g
                         WHERE g.family = ?1 AND g.revoked_at IS NULL"
                    );
                    tx.prepare_cached(&sql)?
                        .query_row([&code.family], |r| grant(r, 0))
                        .optional()?
                        .map(|g| (code, g))
                }
                _ => None,
            };
            tx.commit()?;
            Ok(found)
        })
        .await
    }

    async fn issue_tokens(&self, tokens: Vec<OauthToken>) -> Result<bool, StoreError> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let families: std::collections::BTreeSet<&str> =
                tokens.iter().map(|t| t.family.as_str()).collect();
            for family in families {
                if !stands(&tx, family)? {
                    return Ok(false);
                }
            }
            insert_tokens(&tx, &tokens)?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn access_grant(&self, hash: String) -> Result<Option<OauthGrant>, StoreError> {
        let now = format_time(Utc::now());
        self.read(move |c| {
            let sql = format!(
                "SELECT {GRANT} FROM oauth_tokens t JOIN oauth_grants g ON g.family = t.family
                 WHERE t.hash = ?1 AND t.kind = 'access' AND t.expires_at > ?2
                   AND g.revoked_at IS NULL"
            );
            Ok(c.prepare_cached(&sql)?
                .query_row(params![hash, now], |r| grant(r, 0))
                .optional()?)
        })
        .await
    }

    async fn rotate(&self, hash: String, next: Vec<OauthToken>) -> Result<Rotation, StoreError> {
        let now = format_time(Utc::now());
        self.write(move |c| {
            let tx = c.transaction()?;
            let sql = format!(
                "SELECT t.used_at, t.expires_at, {GRANT} FROM oauth_tokens t
                 JOIN oauth_grants g ON g.family = t.family
                 WHERE t.hash = ?1 AND t.kind = 'refresh' AND g.revoked_at IS NULL"
            );
            let found = tx
                .prepare_cached(&sql)?
                .query_row([&hash], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, String>(1)?,
                        grant(r, 2)?,
                    ))
                })
                .optional()?;
            let rotation = match found {
                None => Rotation::Refused,
                Some((Some(_), _, g)) => {
                    revoke_family(&tx, &g.family)?;
                    Rotation::Reused
                }
                Some((None, expires, _)) if expires <= now => Rotation::Refused,
                Some((None, _, g)) => {
                    tx.prepare_cached("UPDATE oauth_tokens SET used_at = ?2 WHERE hash = ?1")?
                        .execute(params![hash, now])?;
                    insert_tokens(&tx, &in_family(next, &g.family))?;
                    Rotation::Rotated(g)
                }
            };
            tx.commit()?;
            Ok(rotation)
        })
        .await
    }

    async fn revoke_token(&self, hash: String) -> Result<bool, StoreError> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let found: Option<(String, String)> = tx
                .prepare_cached("SELECT family, kind FROM oauth_tokens WHERE hash = ?1")?
                .query_row([&hash], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            let revoked = match found {
                Some((family, kind)) if kind == "refresh" => {
                    revoke_family(&tx, &family)?;
                    true
                }
                Some(_) => {
                    tx.prepare_cached("DELETE FROM oauth_tokens WHERE hash = ?1")?
                        .execute([&hash])?;
                    true
                }
                None => false,
            };
            tx.commit()?;
            Ok(revoked)
        })
        .await
    }

    async fn grants(&self) -> Result<Vec<(OauthGrant, Option<OauthClient>)>, StoreError> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {GRANT}, {CLIENT} FROM oauth_grants g
                 LEFT JOIN oauth_clients c ON c.id = g.client_id
                 WHERE g.revoked_at IS NULL ORDER BY g.created_at DESC, g.family"
            );
            let rows = c
                .prepare_cached(&sql)?
                .query_map([], |r| {
                    let id: Option<String> = r.get(5)?;
                    Ok((
                        grant(r, 0)?,
                        if id.is_some() {
                            Some(client(r, 5)?)
                        } else {
                            None
                        },
                    ))
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn revoke_grant(&self, family: String) -> Result<bool, StoreError> {
        self.write(move |c| {
            let tx = c.transaction()?;
            let revoked = revoke_family(&tx, &family)?;
            tx.commit()?;
            Ok(revoked)
        })
        .await
    }

    async fn forget_expired_oauth(&self) -> Result<u64, StoreError> {
        let now = format_time(Utc::now());
        self.write(move |c| {
            let tx = c.transaction()?;
            let mut n = 0;
            for sql in [
                "DELETE FROM oauth_codes WHERE expires_at <= ?1",
                "DELETE FROM oauth_tokens WHERE expires_at <= ?1",
                // A metadata document's copy stays while a grant of its client stands: it names it.
                "DELETE FROM oauth_clients WHERE expires_at IS NOT NULL AND expires_at <= ?1
                 AND id NOT IN (SELECT client_id FROM oauth_grants WHERE revoked_at IS NULL)",
            ] {
                n += tx.prepare_cached(sql)?.execute([&now])?;
            }
            tx.commit()?;
            Ok(n as u64)
        })
        .await
    }
}
