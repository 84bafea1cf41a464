// oidc-provider (https://github.com/panva/node-oidc-provider), the Node.js
// reference OAuth 2.0 / OpenID Connect server, set up as Portcullis serves
// the bench's client: the client-credentials grant, client_secret_basic,
// and an ES256-signed JWT access token (RFC 9068) for one resource and one
// scope. One worker per core (node:cluster), as a Node deployment would
// run it on this machine. Started by the bench (bench/src/against.rs):
//
//   node server.mjs <port> <client secret> <resource URL>
//
// It prints `listening` once every worker accepts connections.

import cluster from 'node:cluster';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';

import Provider from 'oidc-provider';

const [port, secret, resource] = process.argv.slice(2);
if (!port || !secret || !resource) {
  console.error('usage: node server.mjs <port> <client secret> <resource URL>');
  process.exit(2);
}

if (cluster.isPrimary) {
  // One signing key for every worker, as one issuer has.
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const workers = Number(process.env.OIDC_PROVIDER_WORKERS) || availableParallelism();
  let listening = 0;
  cluster.on('listening', () => {
    listening += 1;
    if (listening === workers) console.log(`listening on ${port} with ${workers} workers`);
  });
  cluster.on('exit', (_worker, code) => {
    console.error(`an oidc-provider worker exited (${code})`);
    process.exit(1);
  });
  for (let i = 0; i < workers; i += 1) cluster.fork({ BENCH_SIGNING_JWK: JSON.stringify(key) });
} else {
  const jwk = { ...JSON.parse(process.env.BENCH_SIGNING_JWK), alg: 'ES256', use: 'sig', kid: 'bench' };
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [{
      client_id: 'bench',
      client_secret: secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      scope: 'applications:read',
    }],
    jwks: { keys: [jwk] },
    // The client-credentials grant sets no cookie; keys keep the warning quiet.
    cookies: { keys: [randomBytes(32).toString('hex')] },
    scopes: ['applications:read'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          audience: resource,
          scope: 'applications:read',
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider:', err));
  provider.listen(Number(port), '127.0.0.1');
}
