import { expect, test } from '@playwright/test';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hydrated, newClient, newProject, signUp, staffSignIn, uniqueEmail, watchForErrors } from './helpers';

test('support staff revoke a client with a reason, and the owner sees it', async ({ browser, page, request }) => {
  const problems = watchForErrors(page);
  // An owner with a working client.
  await signUp(page, 'Leaky Ltd', uniqueEmail('leaky'));
  await expect(page.getByTestId('page-title')).toHaveText('Projects');
  await hydrated(page);
  await newProject(page, 'Nightly export', 'api-partner');
  const { id, secret } = await newClient(page, ['applications:read']);
  const auth = 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
  const form = { grant_type: 'client_credentials', scope: 'applications:read' };
  const token = (await (await request.post('/oauth/token', { headers: { authorization: auth }, form })).json()).access_token;

  // A staff member, made with the CLI, signs in at the usual page.
  const { staff, email: staffEmail } = await staffSignIn(browser, 'support');
  await expect(staff.getByTestId('staff-email')).toHaveText(staffEmail);
  // Staff cannot open account pages.
  await staff.goto('/projects');
  await expect(staff).toHaveURL(/\/staff$/);
  await hydrated(staff);

  await staff.getByTestId('staff-query').fill(id);
  await staff.getByTestId('staff-search-submit').click();
  const card = staff.getByTestId('found-client');
  await expect(card).toContainText('Leaky Ltd');
  await expect(card).toContainText('Nightly export');
  await card.getByTestId('revoke-reason').fill('Secret pasted in a public issue');
  await card.getByTestId('revoke').click();
  await expect(card.getByTestId('client-status')).toHaveText('Disabled');

  // Stopped at the token endpoint and the gate, at once.
  expect((await request.post('/oauth/token', { headers: { authorization: auth }, form })).status()).toBe(401);
  expect((await request.get('/partner/v1/applications', { headers: { authorization: `Bearer ${token}` } })).status()).toBe(401);

  // The owner sees why.
  await page.reload();
  await hydrated(page);
  await expect(page.locator(`[data-client-id="${id}"]`)).toContainText('Revoked by support: Secret pasted in a public issue');
  expect(problems).toEqual([]);
});

test('support staff make a gate credential, see its secret once, and revoke it', async ({ browser, request }) => {
  const { staff } = await staffSignIn(browser, 'gates');
  const problems = watchForErrors(staff);
  const section = staff.getByTestId('gate-credentials');
  await section.getByTestId('gate-api').selectOption('partner');
  await section.getByTestId('gate-name').fill('partner-api nginx');
  await section.getByTestId('gate-create').click();
  const env = await section.getByTestId('gate-env').textContent();
  const id = /GATE_CLIENT_ID=(\S+)/.exec(env!)![1];
  const secret = /GATE_CLIENT_SECRET=(\S+)/.exec(env!)![1];
  const row = section.locator(`[data-gate-id="${id}"]`);
  await expect(row).toContainText('partner-api nginx');
  await expect(row.getByTestId('gate-state')).toHaveText('Live');

  // The credential works at the gate endpoints…
  const auth = 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
  const ask = () => request.post('/gate/v1/introspect', { headers: { authorization: auth }, form: { token: 'x' } });
  expect((await ask()).status()).toBe(200);

  // …and the secret is gone from the page once dismissed.
  await section.getByTestId('gate-secret-done').click();
  await expect(section.getByTestId('gate-secret-panel')).toHaveCount(0);
  await staff.reload();
  await hydrated(staff);
  await expect(staff.getByTestId('gate-credentials')).not.toContainText(secret);

  await staff.locator(`[data-gate-id="${id}"]`).getByTestId('gate-revoke').click();
  await expect(staff.locator(`[data-gate-id="${id}"]`).getByTestId('gate-state')).toContainText('Revoked');
  expect((await ask()).status()).toBe(401);
  expect(problems).toEqual([]);
});

test('staff see a gate process following the feed, and when it applied a revocation', async ({ browser, page, baseURL }) => {
  // An owner with a client.
  await signUp(page, 'Reached Ltd', uniqueEmail('reached'));
  await hydrated(page);
  await newProject(page, 'Settlements', 'api-partner');
  const { id } = await newClient(page, ['applications:read']);

  // Staff make a gate credential and start `portcullis gate` with it.
  const { staff } = await staffSignIn(browser, 'reach');
  const problems = watchForErrors(staff);
  const section = staff.getByTestId('gate-credentials');
  await section.getByTestId('gate-api').selectOption('partner');
  await section.getByTestId('gate-name').fill('settlements envoy');
  await section.getByTestId('gate-create').click();
  const env = (await section.getByTestId('gate-env').textContent())!;
  const gateId = /GATE_CLIENT_ID=(\S+)/.exec(env)![1];
  const routes = join(process.env.E2E_DATA_DIR!, `routes-${gateId}.toml`);
  writeFileSync(routes, '[[route]]\nmethod = "GET"\npath = "/partner/v1/applications"\nscope = "applications:read"\n');
  const gate = spawn(process.env.E2E_BIN!, ['gate', '--issuer', baseURL!, '--listen', '127.0.0.1:0', '--routes', routes], {
    env: {
      ...process.env,
      GATE_CLIENT_ID: gateId,
      GATE_CLIENT_SECRET: /GATE_CLIENT_SECRET=(\S+)/.exec(env)![1],
      RUST_LOG: 'error',
    },
    stdio: 'ignore',
  });
  try {
    // It reports every 2 s; the table is read when the page loads.
    const row = staff.locator(`[data-test-id="gate-connection"][data-gate-id="${gateId}"]`);
    await expect(async () => {
      await staff.reload();
      await expect(row).toHaveAttribute('data-connected', 'true', { timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    await expect(row).toContainText('settlements envoy');
    await expect(row).toContainText('127.0.0.1');
    await expect(row.getByTestId('gate-lag')).toHaveText('0 changes, 0 s');

    // Staff revoke the client; the owner's card says when the gate applied it.
    await staff.getByTestId('staff-query').fill(id);
    await staff.getByTestId('staff-search-submit').click();
    await hydrated(staff);
    const card = staff.getByTestId('found-client');
    await card.getByTestId('revoke-reason').fill('Token seen in a proxy log');
    await card.getByTestId('revoke').click();
    await expect(card.getByTestId('client-status')).toHaveText('Disabled');
    const summary = page.locator(`[data-client-id="${id}"]`).getByTestId('cut-off-summary');
    await expect(async () => {
      await page.reload();
      await expect(summary).toContainText('Applied by every connected gate of Partner API (1 gate)', { timeout: 1_000 });
    }).toPass({ timeout: 20_000 });
    // Staff see each gate by name and address.
    await staff.reload();
    await hydrated(staff);
    await expect(staff.getByTestId('found-client').getByTestId('cut-off-gate')).toContainText('settlements envoy at 127.0.0.1: applied');
  } finally {
    gate.kill();
  }
  expect(problems).toEqual([]);
});
