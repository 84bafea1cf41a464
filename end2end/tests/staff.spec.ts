import { expect, test } from '@playwright/test';
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
