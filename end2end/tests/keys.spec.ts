import { expect, test, type APIRequestContext } from '@playwright/test';
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hydrated, newProject, signUp, uniqueEmail, watchForErrors } from './helpers';

/** An RFC 7523 client assertion signed with Node's own crypto (ES256, the
 *  JWS signature as r || s). */
function assertion(privateKey: KeyObject, kid: string, clientId: string, aud: string) {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'ES256', kid, typ: 'JWT' })}.${b64({
    iss: clientId, sub: clientId, aud, iat: now, exp: now + 60, jti: randomUUID(),
  })}`;
  const sig = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

function keyPair(kid: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, kid, jwk: { ...publicKey.export({ format: 'jwk' }), kid } };
}

async function mint(request: APIRequestContext, baseURL: string, clientId: string, key: ReturnType<typeof keyPair>) {
  return request.post('/oauth/token', {
    form: {
      grant_type: 'client_credentials',
      scope: 'applications:read',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion(key.privateKey, key.kid, clientId, baseURL),
    },
  });
}

test('a key client: paste a public key, sign in with the private key, rotate by adding a second key', async ({ page, request, baseURL }) => {
  const problems = watchForErrors(page);
  await signUp(page, 'Keyed Co', uniqueEmail('keys'));
  await hydrated(page);
  await newProject(page, 'Signed exports', 'api-partner');

  const first = keyPair('2026-a');
  const form = page.getByTestId('new-client-form');
  await form.getByTestId('auth-key').check();
  // A private key is refused, with the reason, and nothing is created.
  const { privateKey: leaked } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await form.getByTestId('public-keys').fill(JSON.stringify(leaked.export({ format: 'jwk' })));
  await form.getByTestId('scope-applications:read').check();
  await page.getByTestId('create-client').click();
  await expect(form.getByTestId('form-error')).toContainText('private');
  await expect(page.getByTestId('client')).toHaveCount(0);

  await form.getByTestId('public-keys').fill(JSON.stringify(first.jwk));
  await page.getByTestId('create-client').click();
  await expect(page.getByTestId('key-client-panel')).toBeVisible();
  await expect(page.getByTestId('new-client-secret')).toHaveCount(0);
  const id = (await page.getByTestId('new-client-id').textContent())!.trim();
  await page.getByTestId('secret-done').click();

  const card = page.locator(`[data-client-id="${id}"]`);
  await expect(card.getByTestId('client-auth')).toContainText('private_key_jwt');
  await expect(card.getByTestId('client-keys')).toHaveText('2026-a (ES256)');
  await expect(card.getByTestId('rotate')).toHaveCount(0);

  const res = await mint(request, baseURL!, id, first);
  expect(res.status()).toBe(200);
  const token = (await res.json()).access_token;
  expect((await request.get('/partner/v1/applications', { headers: { authorization: `Bearer ${token}` } })).status()).toBe(200);

  // Rotation: both keys, then the new one alone.
  const second = keyPair('2026-b');
  await card.getByTestId('open-keys').click();
  await card.getByTestId('new-public-keys').fill(JSON.stringify({ keys: [first.jwk, second.jwk] }));
  await card.getByTestId('save-keys').click();
  await expect(card.getByTestId('client-keys')).toHaveText('2026-a (ES256), 2026-b (ES256)');
  expect((await mint(request, baseURL!, id, second)).status()).toBe(200);
  expect((await mint(request, baseURL!, id, first)).status()).toBe(200);

  await card.getByTestId('open-keys').click();
  await card.getByTestId('new-public-keys').fill(JSON.stringify(second.jwk));
  await card.getByTestId('save-keys').click();
  await expect(card.getByTestId('client-keys')).toHaveText('2026-b (ES256)');
  expect((await mint(request, baseURL!, id, first)).status()).toBe(401);
  expect((await mint(request, baseURL!, id, second)).status()).toBe(200);
  // The refused private key's 422 is the one error expected.
  expect(problems.filter((p) => !p.includes('422'))).toEqual([]);
});

test('a key client whose keys the partner publishes at a URL', async ({ page, request, baseURL }) => {
  const problems = watchForErrors(page);
  const key = keyPair('hosted-1');
  // The partner's key server: its JWK Set at /jwks.json, nothing elsewhere.
  const server = createServer((req, res) => {
    if (req.url !== '/jwks.json') {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [key.jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await signUp(page, 'Hosted Keys Co', uniqueEmail('hosted'));
    await hydrated(page);
    await newProject(page, 'Hosted keys', 'api-partner');
    const form = page.getByTestId('new-client-form');
    await form.getByTestId('auth-jwks-uri').check();
    await form.getByTestId('jwks-uri').fill(`http://127.0.0.1:${port}/nothing-here`);
    await form.getByTestId('scope-applications:read').check();
    // The URL is fetched when set; this one answers no JWK Set.
    await page.getByTestId('create-client').click();
    await expect(form.getByTestId('form-error')).toContainText('404');
    await form.getByTestId('jwks-uri').fill(`http://127.0.0.1:${port}/jwks.json`);
    await page.getByTestId('create-client').click();
    await expect(page.getByTestId('key-client-panel')).toBeVisible();
    const id = (await page.getByTestId('new-client-id').textContent())!.trim();
    await page.getByTestId('secret-done').click();
    const card = page.locator(`[data-client-id="${id}"]`);
    await expect(card.getByTestId('client-jwks-uri')).toHaveText(`http://127.0.0.1:${port}/jwks.json`);
    expect((await mint(request, baseURL!, id, key)).status()).toBe(200);
  } finally {
    server.close();
  }
  // The refused URL's 422 is the one error expected.
  expect(problems.filter((p) => !p.includes('422'))).toEqual([]);
});
