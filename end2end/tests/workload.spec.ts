import { expect, test } from '@playwright/test';
import { generateKeyPairSync, sign } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LIVE, hydrated, newClient, newProject, signUp, uniqueEmail, watchForErrors } from './helpers';

/** A CI platform's token issuer on loopback: OpenID discovery and its JWK
 *  Set, and GitHub Actions-shaped tokens signed RS256 with Node's crypto. */
async function platform() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'ci-1', alg: 'RS256', use: 'sig' };
  const server = createServer((req, res) => {
    const { port } = server.address() as AddressInfo;
    const issuer = `http://127.0.0.1:${port}`;
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else if (req.url === '/jwks') {
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = (aud: string, ref: string) => {
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64({ alg: 'RS256', kid: 'ci-1', typ: 'JWT' })}.${b64({
      iss: issuer, aud, sub: `repo:acme/payments-sync:ref:${ref}`, repository: 'acme/payments-sync',
      repository_owner: 'acme', ref, environment: 'production', iat: now, nbf: now, exp: now + 300,
    })}`;
    return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
  };
  return { issuer, token, close: () => server.close() };
}

test('a GitHub Actions trust set up with its preset: the job signs in with its platform token', async ({ page, request, baseURL }) => {
  const problems = watchForErrors(page);
  const ci = await platform();
  try {
    await signUp(page, 'Workload Co', uniqueEmail('workload'));
    await hydrated(page);
    await newProject(page, 'Nightly sync', 'api-partner');
    const form = page.getByTestId('new-client-form');
    await form.getByTestId('auth-workload').check();
    // The preset fills in GitHub's issuer and the claims to pin.
    await expect(form.getByTestId('workload-preset')).toHaveValue('github_actions');
    await expect(form.getByTestId('workload-issuer')).toHaveValue('https://token.actions.githubusercontent.com');
    await expect(form.getByTestId('workload-claim-0')).toHaveValue('repository');
    await expect(form.getByTestId('workload-claim-1')).toHaveValue('ref');
    await expect(form.getByTestId('workload-audience')).toHaveValue(baseURL!);
    await form.getByTestId('scope-applications:read').check();
    // Without a repository condition anyone's workflow could sign in.
    await form.getByTestId('workload-value-1').fill('refs/heads/main');
    await page.getByTestId('create-client').click();
    await expect(form.getByTestId('form-error')).toContainText('repository');
    await expect(page.getByTestId('client')).toHaveCount(0);

    // This test's issuer plays GitHub's.
    await form.getByTestId('workload-issuer').fill(ci.issuer);
    await form.getByTestId('workload-value-0').fill('acme/*');
    await page.getByTestId('create-client').click();
    await expect(page.getByTestId('key-client-panel')).toContainText('Workload client created');
    await expect(page.getByTestId('new-client-secret')).toHaveCount(0);
    const id = (await page.getByTestId('new-client-id').textContent())!.trim();
    await page.getByTestId('secret-done').click();
    const card = page.locator(`[data-client-id="${id}"]`);
    await expect(card.getByTestId('client-workload')).toContainText('GitHub Actions');
    await expect(card.getByTestId('client-workload')).toContainText('ref=refs/heads/main, repository=acme/*');
    await expect(card.getByTestId('rotate')).toHaveCount(0);

    const mint = (ref: string) => request.post('/oauth/token', {
      form: {
        grant_type: 'client_credentials', scope: 'applications:read', client_id: id,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: ci.token(baseURL!, ref),
      },
    });
    const res = await mint('refs/heads/main');
    expect(res.status()).toBe(200);
    const token = (await res.json()).access_token;
    expect((await request.get('/partner/v1/applications', { headers: { authorization: `Bearer ${token}` } })).status()).toBe(200);
    expect((await mint('refs/heads/feature')).status()).toBe(401);

    // The card names the workload that signed in.
    await expect(card.getByTestId('last-workload')).toContainText('repo:acme/payments-sync:ref:refs/heads/main', {
      timeout: LIVE,
    });
  } finally {
    ci.close();
  }
  // The refused trust's 422 is the one error expected.
  expect(problems.filter((p) => !p.includes('422'))).toEqual([]);
});

test('a project turned keys only: the secret that blocked it is named, then no secret can be made', async ({ page }) => {
  const problems = watchForErrors(page);
  await signUp(page, 'Keys Only Co', uniqueEmail('keysonly'));
  await hydrated(page);
  await newProject(page, 'Lender feed', 'api-partner');
  const { id: secretId } = await newClient(page, ['applications:read']);

  // The account's projects say which still hold secrets.
  await page.goto('/projects');
  await expect(page.getByTestId('secret-holders')).toContainText('1 live client in 1 project still holds a secret');
  await expect(page.getByTestId('project-secrets')).toHaveText('1 client holds one');
  await page.getByRole('link', { name: 'Lender feed' }).click();
  await hydrated(page);

  const card = page.getByTestId('keys-only-card');
  await expect(card.getByTestId('keys-only-state')).toContainText('1 client of this project still holds a secret');
  await card.getByTestId('toggle-keys-only').click();
  await expect(card.getByTestId('form-error')).toContainText(secretId);

  // Move to a key client, retire the secret one, then switch.
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const form = page.getByTestId('new-client-form');
  await form.getByTestId('auth-key').check();
  await form.getByTestId('public-keys').fill(JSON.stringify({ ...publicKey.export({ format: 'jwk' }), kid: 'feed-1' }));
  await form.getByTestId('scope-applications:read').check();
  await page.getByTestId('create-client').click();
  await page.getByTestId('secret-done').click();
  const old = page.locator(`[data-client-id="${secretId}"]`);
  await old.getByTestId('open-retire').click();
  await old.getByTestId('confirm-retire').click();
  await expect(old.getByTestId('client-status')).toHaveText('Disabled');

  await card.getByTestId('toggle-keys-only').click();
  await expect(page.getByTestId('keys-only-badge')).toBeVisible();
  await hydrated(page);
  await expect(page.getByTestId('keys-only-card').getByTestId('keys-only-state')).toContainText('This project is keys only');
  // The new-client form offers keys and workload identities only.
  await expect(page.getByTestId('new-client-form').getByTestId('auth-secret')).toHaveCount(0);
  await expect(page.getByTestId('new-client-form').getByTestId('auth-key')).toBeChecked();

  await page.goto('/projects');
  await expect(page.getByTestId('project-secrets')).toHaveText('Keys only');
  await expect(page.getByTestId('secret-holders')).toHaveCount(0);
  // The refused switch's 409 is the one error expected.
  expect(problems.filter((p) => !p.includes('409'))).toEqual([]);
});
