import { expect, test, type APIRequestContext } from '@playwright/test';
import { LIVE, hydrated, newClient, newProject, signUp, uniqueEmail, watchForErrors } from './helpers';

async function mint(request: APIRequestContext, id: string, secret: string) {
  const res = await request.post('/oauth/token', {
    headers: { authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') },
    form: { grant_type: 'client_credentials', scope: 'applications:read' },
  });
  return res;
}

async function callApi(request: APIRequestContext, token: string) {
  return (await request.get('/partner/v1/applications', { headers: { authorization: `Bearer ${token}` } })).status();
}

test('rotation: both clients work, the old one is retired and its tokens stop at the gate', async ({ page, request }) => {
  const problems = watchForErrors(page);
  await signUp(page, 'Rotating Co', uniqueEmail('rot'));
  await expect(page.getByTestId('page-title')).toHaveText('Projects');
  await hydrated(page);
  await newProject(page, 'Payments sync', 'api-partner');

  const { id: oldId, secret: oldSecret } = await newClient(page, ['applications:read']);
  const oldToken = (await (await mint(request, oldId, oldSecret)).json()).access_token;

  // Rotate: a second client with the same scopes, its secret shown once.
  const oldCard = page.locator(`[data-client-id="${oldId}"]`);
  await oldCard.getByTestId('rotate').click();
  await expect(page.getByTestId('secret-panel')).toBeVisible();
  const newId = (await page.getByTestId('new-client-id').textContent())!.trim();
  const newSecret = (await page.getByTestId('new-client-secret').textContent())!.trim();
  expect(newId).not.toBe(oldId);
  await page.getByTestId('secret-done').click();
  const newCard = page.locator(`[data-client-id="${newId}"]`);
  await expect(newCard.getByTestId('client-scopes')).toHaveText('applications:read');
  await expect(page.getByTestId('rotation-notice')).toBeVisible();

  // Both mint and both pass the gate.
  const newToken = (await (await mint(request, newId, newSecret)).json()).access_token;
  expect(await callApi(request, oldToken)).toBe(200);
  expect(await callApi(request, newToken)).toBe(200);
  // The cards follow the traffic moving (no reload).
  await expect(newCard.getByTestId('minted-5m')).toHaveText('1', { timeout: LIVE });
  await expect(oldCard.getByTestId('minted-5m')).toHaveText('1', { timeout: LIVE });

  // Retire the old client: the page warns it was used just now.
  await oldCard.getByTestId('open-retire').click();
  await expect(oldCard.getByTestId('recent-use-warning')).toContainText('less than a minute ago');
  await oldCard.getByTestId('confirm-retire').click();
  await expect(oldCard.getByTestId('client-status')).toHaveText('Disabled');
  await expect(oldCard).toContainText('Retired by');
  await expect(page.getByTestId('rotation-notice')).toHaveCount(0);

  expect(await callApi(request, oldToken)).toBe(401);
  expect((await mint(request, oldId, oldSecret)).status()).toBe(401);
  expect(await callApi(request, newToken)).toBe(200);

  // The retired client can now be deleted.
  await oldCard.getByTestId('delete-client').click();
  await expect(page.locator(`[data-client-id="${oldId}"]`)).toHaveCount(0);

  // The audit log tells the story, newest first, and filters by action.
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByTestId('page-title')).toHaveText('Audit log');
  await expect(page.getByTestId('audit-action').first()).toHaveText('client.delete');
  await expect(page.getByTestId('audit-table')).toContainText('client.rotate');
  await page.getByTestId('filter-action').selectOption('client.retire');
  await page.getByTestId('apply-filters').click();
  await expect(page).toHaveURL(/action=client.retire/);
  await expect(page.getByTestId('audit-row')).toHaveCount(1);
  await expect(page.getByTestId('audit-row')).toContainText(oldId);
  expect(problems).toEqual([]);
});
