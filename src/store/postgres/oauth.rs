//! hookd's OAuth clients, grants, codes and tokens on PostgreSQL (see `store::oauth`): what one
//! instance issued, every instance honours. Each change is one transaction; a refresh token's
//! row is locked while it is spent, so two instances presented the same token cannot both
//! rotate it.

use async_trait::async_trait;
use chrono::Utc;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::Postgres;
use crate::store::StoreError;
use crate::store::oauth::{
    OauthClient, OauthCode, OauthGrant, OauthStore, OauthToken, Rotation, in_family,
};
use crate::time::format_time;

const GRANT: &str = "g.family, g.client_id, g.scope, g.resource, g.created_at";
const CLIENT: &str = "c.id, c.name, c.redirect_uris, c.metadata, c.created_at, c.expires_at";

fn grant(r: &Row, at: usize) -> OauthGrant {
    OauthGrant {
        family: r.get(at),
        client_id: r.get(at + 1),
        scope: r.get(at + 2),
        resource: r.get(at + 3),
        created_at: super::time(r, at + 4),
    }
}

fn client(r: &Row, at: usize) -> OauthClient {
    OauthClient {
        id: r.get(at),
        name: r.get(at + 1),
        redirect_uris: r.get(at + 2),
        metadata: r.get(at + 3),
        created_at: super::time(r, at + 4),
        expires_at: r
            .get::<_, Option<String>>(at + 5)
            .map(|_| super::time(r, at + 5)),
    }
}

async fn stands(c: &impl GenericClient, family: &str) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 FROM oauth_grants WHERE family = $1 AND revoked_at IS NULL FOR SHARE",
        &[&family],
    )
    .await?
    .is_some())
}

async fn insert_tokens(c: &impl GenericClient, tokens: &[OauthToken]) -> Result<(), StoreError> {
    for t in tokens {
        c.execute(
            "INSERT INTO oauth_tokens (hash, family, kind, expires_at) VALUES ($1, $2, $3, $4)",
            &[
                &t.hash,
                &t.family,
                &t.kind.as_str(),
                &format_time(t.expires_at),
            ],
        )
        .await?;
    }
    Ok(())
}

async fn revoke_family(c: &impl GenericClient, family: &str) -> Result<bool, StoreError> {
    let now = format_time(Utc::now());
    let n = c
        .execute(
            "UPDATE oauth_grants SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL",
            &[&family, &now],
        )
        .await?;
    c.execute("DELETE FROM oauth_tokens WHERE family = $1", &[&family])
        .await?;
    c.execute("DELETE FROM oauth_codes WHERE family = $1", &[&family])
        .await?;
    Ok(n == 1)
}

#[async_trait]
impl OauthStore for Postgres {
    async fn save_client(&self, cl: OauthClient) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute(
                "INSERT INTO oauth_clients (id, name, redirect_uris, metadata, created_at,
                     expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                     redirect_uris = excluded.redirect_uris, metadata = excluded.metadata,
                     expires_at = excluded.expires_at",
                &[
                    &cl.id,
                    &cl.name,
                    &cl.redirect_uris,
                    &cl.metadata,
                    &format_time(cl.created_at),
                    &cl.expires_at.map(format_time),
                ],
            )
            .await?;
        Ok(())
    }

    async fn client(&self, id: String) -> Result<Option<OauthClient>, StoreError> {
        let sql = format!("SELECT {CLIENT} FROM oauth_clients c WHERE c.id = $1");
        let row = self.client().await?.query_opt(&sql, &[&id]).await?;
        Ok(row.map(|r| client(&r, 0)))
    }

    async fn grant_with_code(&self, g: OauthGrant, code: OauthCode) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute(
            "INSERT INTO oauth_grants (family, client_id, scope, resource, created_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &g.family,
                &g.client_id,
                &g.scope,
                &g.resource,
                &format_time(g.created_at),
            ],
        )
        .await?;
        tx.execute(
            "INSERT INTO oauth_codes (hash, family, redirect_uri, challenge, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &code.hash,
                &code.family,
                &code.redirect_uri,
                &code.challenge,
                &format_time(code.expires_at),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn take_code(&self, hash: String) -> Result<Option<(OauthCode, OauthGrant)>, StoreError> {
        let now = format_time(Utc::now());
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // DELETE … RETURNING: of two requests with one code, only one gets its row.
        let code = tx
            .query_opt(
                "DELETE FROM oauth_codes WHERE hash = $1
                 RETURNING hash, family, redirect_uri, challenge, expires_at",
                &[&hash],
            )
            .await?
            .map(|r| OauthCode {
                hash: r.get(0),
                family: r.get(1),
                redirect_uri: r.get(2),
                challenge: r.get(3),
                expires_at: super::time(&r, 4),
            });
        let found = match code {
            Some(code) if format_time(code.expires_at) > now => {
                let sql = format!(
                    "SELECT {GRANT} FROM oauth_grants g WHERE g.family = $1 AND g.revoked_at IS NULL"
                );
                tx.query_opt(&sql, &[&code.family])
                    .await?
                    .map(|r| (code, grant(&r, 0)))
            }
            _ => None,
        };
        tx.commit().await?;
        Ok(found)
    }

    async fn issue_tokens(&self, tokens: Vec<OauthToken>) -> Result<bool, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let families: std::collections::BTreeSet<&str> =
            tokens.iter().map(|t| t.family.as_str()).collect();
        for family in families {
            if !stands(&tx, family).await? {
                return Ok(false);
            }
        }
        insert_tokens(&tx, &tokens).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn access_grant(&self, hash: String) -> Result<Option<OauthGrant>, StoreError> {
        let now = format_time(Utc::now());
        let sql = format!(
            "SELECT {GRANT} FROM oauth_tokens t JOIN oauth_grants g ON g.family = t.family
             WHERE t.hash = $1 AND t.kind = 'access' AND t.expires_at > $2
               AND g.revoked_at IS NULL"
        );
        let row = self.client().await?.query_opt(&sql, &[&hash, &now]).await?;
        Ok(row.map(|r| grant(&r, 0)))
    }

    async fn rotate(&self, hash: String, next: Vec<OauthToken>) -> Result<Rotation, StoreError> {
        let now = format_time(Utc::now());
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let sql = format!(
            "SELECT t.used_at, t.expires_at, {GRANT} FROM oauth_tokens t
             JOIN oauth_grants g ON g.family = t.family
             WHERE t.hash = $1 AND t.kind = 'refresh' AND g.revoked_at IS NULL
             FOR UPDATE OF t"
        );
        let found = tx.query_opt(&sql, &[&hash]).await?.map(|r| {
            (
                r.get::<_, Option<String>>(0),
                r.get::<_, String>(1),
                grant(&r, 2),
            )
        });
        let rotation = match found {
            None => Rotation::Refused,
            Some((Some(_), _, g)) => {
                revoke_family(&tx, &g.family).await?;
                Rotation::Reused
            }
            Some((None, expires, _)) if expires <= now => Rotation::Refused,
            Some((None, _, g)) => {
                tx.execute(
                    "UPDATE oauth_tokens SET used_at = $2 WHERE hash = $1",
                    &[&hash, &now],
                )
                .await?;
                insert_tokens(&tx, &in_family(next, &g.family)).await?;
                Rotation::Rotated(g)
            }
        };
        tx.commit().await?;
        Ok(rotation)
    }

    async fn revoke_token(&self, hash: String) -> Result<bool, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let found = tx
            .query_opt(
                "SELECT family, kind FROM oauth_tokens WHERE hash = $1",
                &[&hash],
            )
            .await?
            .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)));
        let revoked = match found {
            Some((family, kind)) if kind == "refresh" => {
                revoke_family(&tx, &family).await?;
                true
            }
            Some(_) => {
                tx.execute("DELETE FROM oauth_tokens WHERE hash = $1", &[&hash])
                    .await?;
                true
            }
            None => false,
        };
        tx.commit().await?;
        Ok(revoked)
    }

    async fn grants(&self) -> Result<Vec<(OauthGrant, Option<OauthClient>)>, StoreError> {
        let sql = format!(
            "SELECT {GRANT}, {CLIENT} FROM oauth_grants g
             LEFT JOIN oauth_clients c ON c.id = g.client_id
             WHERE g.revoked_at IS NULL ORDER BY g.created_at DESC, g.family"
        );
        let rows = self.client().await?.query(&sql, &[]).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let known = r.get::<_, Option<String>>(5).is_some();
                (grant(r, 0), known.then(|| client(r, 5)))
            })
            .collect())
    }

    async fn revoke_grant(&self, family: String) -> Result<bool, StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let revoked = revoke_family(&tx, &family).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn forget_expired_oauth(&self) -> Result<u64, StoreError> {
        let now = format_time(Utc::now());
        let c = self.client().await?;
        let mut n = 0;
        for sql in [
            "DELETE FROM oauth_codes WHERE expires_at <= $1",
            "DELETE FROM oauth_tokens WHERE expires_at <= $1",
            // A metadata document's copy stays while a grant of its client stands: it names it.
            "DELETE FROM oauth_clients WHERE expires_at IS NOT NULL AND expires_at <= $1
                 AND id NOT IN (SELECT client_id FROM oauth_grants WHERE revoked_at IS NULL)",
        ] {
            n += c.execute(sql, &[&now]).await?;
        }
        Ok(n)
    }
}
