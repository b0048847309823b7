//! The OAuth part of the `Store` contract (`store::oauth`), run against every backend: codes are
//! single-use even when taken at once, refresh tokens rotate and a reused one revokes its family,
//! revocation (of a token, of a grant) takes effect everywhere, only hashes are stored, and what
//! expires is forgotten.

use std::sync::Arc;

use chrono::{Duration, Utc};
use hookd::store::Store;
use hookd::store::oauth::{
    OauthClient, OauthCode, OauthGrant, OauthToken, Rotation, TokenKind, hash,
};

use crate::store_contract::backends;

fn grant(family: &str) -> OauthGrant {
    OauthGrant {
        family: family.into(),
        client_id: "https://app.example.com/client.json".into(),
        scope: "hookd:read".into(),
        resource: "https://hookd.example.com/mcp".into(),
        created_at: Utc::now(),
    }
}

fn code(secret: &str, family: &str, ttl: Duration) -> OauthCode {
    OauthCode {
        hash: hash(secret),
        family: family.into(),
        redirect_uri: "https://app.example.com/callback".into(),
        challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        expires_at: Utc::now() + ttl,
    }
}

fn token(secret: &str, family: &str, kind: TokenKind, ttl: Duration) -> OauthToken {
    OauthToken {
        hash: hash(secret),
        family: family.into(),
        kind,
        expires_at: Utc::now() + ttl,
    }
}

fn pair(n: u32, family: &str) -> Vec<OauthToken> {
    vec![
        token(
            &format!("access-{n}"),
            family,
            TokenKind::Access,
            Duration::hours(1),
        ),
        token(
            &format!("refresh-{n}"),
            family,
            TokenKind::Refresh,
            Duration::days(30),
        ),
    ]
}

#[tokio::test]
async fn codes_are_single_use_and_refresh_tokens_rotate_with_reuse_detection() {
    let test = "codes_are_single_use_and_refresh_tokens_rotate_with_reuse_detection";
    for (name, store, _keep) in backends(test).await {
        let client = OauthClient {
            id: "https://app.example.com/client.json".into(),
            name: "Example app".into(),
            redirect_uris: r#"["https://app.example.com/callback"]"#.into(),
            metadata: "{}".into(),
            created_at: Utc::now(),
            expires_at: Some(Utc::now() + Duration::hours(1)),
        };
        store.save_client(client.clone()).await.unwrap();
        let renamed = OauthClient {
            name: "Example app, renamed".into(),
            ..client.clone()
        };
        store.save_client(renamed.clone()).await.unwrap();
        let read = store.client(client.id.clone()).await.unwrap().unwrap();
        assert_eq!(read.name, renamed.name, "{name}: saving again replaces");

        // A code is taken once, even by requests at the same moment.
        store
            .grant_with_code(grant("f1"), code("code-1", "f1", Duration::minutes(1)))
            .await
            .unwrap();
        let takers: Vec<_> = (0..8)
            .map(|_| {
                let store: Arc<dyn Store> = store.clone();
                tokio::spawn(async move { store.take_code(hash("code-1")).await.unwrap() })
            })
            .collect();
        let mut taken = 0;
        for t in takers {
            if let Some((c, g)) = t.await.unwrap() {
                assert_eq!((c.family.as_str(), g.scope.as_str()), ("f1", "hookd:read"));
                taken += 1;
            }
        }
        assert_eq!(taken, 1, "{name}: one of eight requests gets the code");
        store
            .grant_with_code(grant("f0"), code("code-old", "f0", Duration::seconds(-1)))
            .await
            .unwrap();
        assert!(
            store.take_code(hash("code-old")).await.unwrap().is_none(),
            "{name}: an expired code is refused"
        );

        // Tokens: found by hash only; the secret itself finds nothing.
        assert!(store.issue_tokens(pair(1, "f1")).await.unwrap());
        let g = store.access_grant(hash("access-1")).await.unwrap().unwrap();
        assert_eq!(g.family, "f1", "{name}");
        assert!(
            store
                .access_grant("access-1".into())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .access_grant(hash("refresh-1"))
                .await
                .unwrap()
                .is_none(),
            "{name}: a refresh token is not an access token"
        );

        // Rotation: the refresh token is spent; its successor works; presenting the spent one
        // again revokes the family, successors included.
        let rotated = store
            .rotate(hash("refresh-1"), pair(2, "f1"))
            .await
            .unwrap();
        assert!(
            matches!(rotated, Rotation::Rotated(ref g) if g.family == "f1"),
            "{name}"
        );
        assert!(
            store
                .access_grant(hash("access-2"))
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            store
                .rotate(hash("refresh-1"), pair(3, "f1"))
                .await
                .unwrap(),
            Rotation::Reused,
            "{name}: a spent refresh token presented again"
        );
        for secret in ["access-1", "access-2", "access-3"] {
            assert!(
                store.access_grant(hash(secret)).await.unwrap().is_none(),
                "{name}: {secret} went with its family"
            );
        }
        assert_eq!(
            store
                .rotate(hash("refresh-2"), pair(4, "f1"))
                .await
                .unwrap(),
            Rotation::Refused,
            "{name}: the successor went too"
        );
        assert!(
            !store.issue_tokens(pair(5, "f1")).await.unwrap(),
            "{name}: a revoked family gets no new tokens"
        );
        assert!(store.rotate(hash("unknown"), pair(6, "f1")).await.unwrap() == Rotation::Refused);

        // Revocation (RFC 7009): an access token alone; a refresh token with its family.
        store
            .grant_with_code(grant("f2"), code("code-2", "f2", Duration::minutes(1)))
            .await
            .unwrap();
        assert!(store.issue_tokens(pair(7, "f2")).await.unwrap());
        assert!(store.revoke_token(hash("access-7")).await.unwrap());
        assert!(
            store
                .access_grant(hash("access-7"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            matches!(
                store
                    .rotate(hash("refresh-7"), pair(8, "f2"))
                    .await
                    .unwrap(),
                Rotation::Rotated(_)
            ),
            "{name}: revoking an access token leaves the family"
        );
        assert!(store.revoke_token(hash("refresh-8")).await.unwrap());
        assert!(
            store
                .access_grant(hash("access-8"))
                .await
                .unwrap()
                .is_none()
        );
        assert!(!store.revoke_token(hash("never-issued")).await.unwrap());
        assert!(
            store.take_code(hash("code-2")).await.unwrap().is_none(),
            "{name}: a revoked grant's code is gone"
        );

        // The list of grants and revoking one.
        store
            .grant_with_code(grant("f3"), code("code-3", "f3", Duration::minutes(1)))
            .await
            .unwrap();
        assert!(store.issue_tokens(pair(9, "f3")).await.unwrap());
        let standing = store.grants().await.unwrap();
        let families: Vec<&str> = standing.iter().map(|(g, _)| g.family.as_str()).collect();
        assert!(
            families.contains(&"f3") && !families.contains(&"f1"),
            "{name}: {families:?}"
        );
        let (_, named) = standing.iter().find(|(g, _)| g.family == "f3").unwrap();
        assert_eq!(
            named.as_ref().map(|c| c.name.as_str()),
            Some("Example app, renamed")
        );
        assert!(store.revoke_grant("f3".into()).await.unwrap());
        assert!(
            !store.revoke_grant("f3".into()).await.unwrap(),
            "{name}: once"
        );
        assert!(
            store
                .access_grant(hash("access-9"))
                .await
                .unwrap()
                .is_none()
        );

        // Expiry: an expired access token works no more and is forgotten, with lapsed clients.
        store
            .grant_with_code(grant("f4"), code("code-4", "f4", Duration::minutes(1)))
            .await
            .unwrap();
        let short = vec![token(
            "access-10",
            "f4",
            TokenKind::Access,
            Duration::seconds(-1),
        )];
        assert!(store.issue_tokens(short).await.unwrap());
        assert!(
            store
                .access_grant(hash("access-10"))
                .await
                .unwrap()
                .is_none()
        );
        store
            .save_client(OauthClient {
                id: "lapsed".into(),
                expires_at: Some(Utc::now() - Duration::seconds(1)),
                ..client.clone()
            })
            .await
            .unwrap();
        store
            .grant_with_code(grant("f5"), code("code-5", "f5", Duration::seconds(-1)))
            .await
            .unwrap();
        let forgotten = store.forget_expired_oauth().await.unwrap();
        assert_eq!(
            forgotten, 3,
            "{name}: the token, the code and the client copy"
        );
        assert!(store.client("lapsed".into()).await.unwrap().is_none());
        assert_eq!(store.forget_expired_oauth().await.unwrap(), 0, "{name}");
    }
}
