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
