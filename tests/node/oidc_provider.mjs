// A real OpenID provider (npm `oidc-provider`) on 127.0.0.1, for hookd's tests of an external
// identity provider. It issues JWT access tokens by the client credentials grant, with the
// audience the `resource` asked for (RFC 8707) and the scopes `hookd:read` and `hookd:write`;
// the client `hookd-opaque` gets opaque tokens instead, which its introspection endpoint
// (RFC 7662) describes to any authenticated client. The public client `hookd-dashboard` (native,
// so any loopback port matches its redirect URI `http://127.0.0.1/`) signs in by the
// authorization code flow with PKCE at the provider's development login and consent pages (any
// name and password), and may call the token endpoint from a loopback page (CORS).
//
// Prints one JSON line when it listens: {"issuer", "kid", "pem", "publicPem"} (the signing key,
// PKCS#8 PEM, so a test can also sign tokens with the published key that are wrong in one way
// only; and its public half). Reads
// commands on stdin, one per line:
//   rotate   a new signing key (a new `kid`) replaces the old one; prints {"kid", "pem", "publicPem"}
// Every request for the key set is counted; `count` prints {"jwks": N}.
// Ends when stdin closes.

import http from 'node:http';
import readline from 'node:readline';
import Provider from 'oidc-provider';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';

let keyNumber = 0;
let jwksRequests = 0;

async function signingKey() {
  keyNumber += 1;
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: `key-${keyNumber}`, alg: 'ES256', use: 'sig' };
  return { jwk, pem: await exportPKCS8(privateKey), publicPem: await exportSPKI(publicKey) };
}

function provider(issuer, jwk) {
  const p = new Provider(issuer, {
    clients: [
      {
        client_id: 'hookd-test',
        client_secret: 'hookd-test-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: 'hookd:read hookd:write',
        id_token_signed_response_alg: 'ES256',
      },
      {
        // Its tokens are opaque: hookd introspects them (RFC 7662) as `hookd-test`.
        client_id: 'hookd-opaque',
        client_secret: 'hookd-opaque-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        scope: 'hookd:read hookd:write',
        id_token_signed_response_alg: 'ES256',
      },
      {
        client_id: 'hookd-dashboard',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/'],
        scope: 'hookd:read hookd:write offline_access',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    scopes: ['openid', 'offline_access', 'hookd:read', 'hookd:write'],
    clientBasedCORS: (_ctx, origin, client) =>
      client.clientId === 'hookd-dashboard' && /^http:\/\/127\.0\.0\.1:\d+$/.test(origin),
    jwks: { keys: [jwk] },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => ({
          scope: 'hookd:read hookd:write',
          audience: resource,
          accessTokenTTL: 300,
          ...(client.clientId === 'hookd-opaque'
            ? { accessTokenFormat: 'opaque' }
            : { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
        }),
      },
    },
  });
  return p.callback();
}

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
let handler;

async function useNewKey() {
  const { jwk, pem, publicPem } = await signingKey();
  handler = provider(issuer, jwk);
  return { kid: jwk.kid, pem, publicPem };
}

server.on('request', (req, res) => {
  if (req.url.startsWith('/jwks')) jwksRequests += 1;
  handler(req, res);
});

console.log(JSON.stringify({ issuer, ...(await useNewKey()) }));

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line === 'rotate') console.log(JSON.stringify(await useNewKey()));
  else if (line === 'count') console.log(JSON.stringify({ jwks: jwksRequests }));
}
server.close();
process.exit(0);
