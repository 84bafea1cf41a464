import { expect, test } from '@playwright/test';
import { LIVE, hydrated, newClient, newProject, signUp, uniqueEmail, watchForErrors } from './helpers';

test('project, client with two scopes, secret copied once, token minted, last used, narrowed, never widened', async ({
  page,
  context,
  request,
  baseURL,
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  const problems = watchForErrors(page);
  await signUp(page, 'Acme Lending', uniqueEmail('owner'));
  await expect(page.getByTestId('no-projects')).toBeVisible();
  await newProject(page, 'Loan intake', 'api-partner');
  await expect(page.getByTestId('no-clients')).toBeVisible();

  // The checklist starts with nothing ticked.
  const checklist = page.getByTestId('new-client-form').getByTestId('scope-checklist');
  await expect(checklist.getByRole('checkbox')).toHaveCount(5);
  for (const box of await checklist.getByRole('checkbox').all()) {
    await expect(box).not.toBeChecked();
  }
  await checklist.getByTestId('scope-applications:read').check();
  await checklist.getByTestId('scope-decisions:read').check();
  await page.getByTestId('create-client').click();

  const panel = page.getByTestId('secret-panel');
  await expect(panel).toBeVisible();
  const clientId = (await page.getByTestId('new-client-id').textContent())!.trim();
  const secret = (await page.getByTestId('new-client-secret').textContent())!.trim();
  expect(clientId).toMatch(/^pcl_[0-9a-f]{32}$/);
  expect(secret).toMatch(/^pcs_[0-9A-Za-z]{49}$/);
  await page.getByTestId('copy-secret').click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  await expect(page.getByTestId('client-scopes')).toHaveText(/applications:read\s*decisions:read/);
  await expect(page.getByTestId('last-used')).toHaveText('Never');
  await page.getByTestId('secret-done').click();
  await expect(panel).toHaveCount(0);
  // The form is fresh for the next client: nothing ticked.
  await expect(checklist.getByTestId('scope-applications:read')).not.toBeChecked();
  // Shown once: a reload does not bring it back.
  await page.reload();
  await hydrated(page);
  await expect(page.getByText(secret)).toHaveCount(0);

  // A test HTTP client mints a token with the copied credentials.
  const auth = 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64');
  const minted = await request.post('/oauth/token', {
    headers: { authorization: auth },
    form: { grant_type: 'client_credentials', scope: 'decisions:read' },
  });
  expect(minted.status()).toBe(200);
  const body = await minted.json();
  expect(body.token_type).toBe('Bearer');
  expect(body.scope).toBe('decisions:read');

  // The page follows the use as it happens (no reload).
  await expect(page.getByTestId('last-used')).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/, { timeout: LIVE });

  // Narrow: only the client's own scopes are offered, and widening is
  // pointed at a new purpose-scoped client.
  await page.getByTestId('open-narrow').click();
  const narrow = page.getByTestId('narrow-form');
  await expect(narrow.getByRole('checkbox')).toHaveCount(2);
  await expect(narrow.getByTestId('scope-payments:provision')).toHaveCount(0);
  await expect(narrow.getByTestId('widen-hint')).toContainText('create a new purpose-scoped client');
  await expect(narrow).toContainText('affects new tokens only');
  await narrow.getByTestId('scope-decisions:read').uncheck();
  await narrow.getByTestId('narrow-submit').click();
  await expect(page.getByTestId('client-scopes')).toHaveText('applications:read');

  // Nothing is left to widen into from the console, and the token endpoint
  // refuses the dropped scope.
  await page.getByTestId('open-narrow').click();
  await expect(page.getByTestId('narrow-form').getByRole('checkbox')).toHaveCount(1);
  const refused = await request.post('/oauth/token', {
    headers: { authorization: auth },
    form: { grant_type: 'client_credentials', scope: 'decisions:read' },
  });
  expect(refused.status()).toBe(400);
  expect((await refused.json()).error).toBe('invalid_scope');

  // Mint a test token from the console: same minting, decoded claims shown.
  await page.getByTestId('open-mint').click();
  const mint = page.getByTestId('mint-form');
  await mint.getByTestId('scope-applications:read').check();
  await mint.getByTestId('mint-submit').click();
  await expect(mint.getByTestId('minted-claims')).toContainText('"scope": "applications:read"');
  await expect(mint.getByTestId('minted-claims')).toContainText(clientId);

  expect(problems, 'no script errors or CSP violations').toEqual([]);
});

test('destructive scopes are marked and never pre-ticked; mistakes are explained', async ({ page }) => {
  const problems = watchForErrors(page);
  await signUp(page, 'Ledger Co', uniqueEmail('caas'));
  await expect(page.getByTestId('page-title')).toHaveText('Projects');
  await hydrated(page);

  // A lifetime out of range is stopped in the form (the server refuses it
  // too, see the integration tests) and nothing is created.
  await page.getByTestId('project-name').fill('Enrichment');
  await page.getByTestId('api-caas').check();
  const ttl = page.getByLabel('Access-token lifetime (seconds)');
  await ttl.fill('60');
  await page.getByTestId('create-project').click();
  expect(await ttl.evaluate((el: HTMLInputElement) => el.validity.rangeUnderflow)).toBe(true);
  await expect(page).toHaveURL(/\/projects$/);
  await expect(page.getByTestId('no-projects')).toBeVisible();

  await page.getByLabel('Access-token lifetime (seconds)').fill('900');
  await page.getByTestId('create-project').click();
  await expect(page).toHaveURL(/\/projects\/prj_/);
  await hydrated(page);

  const checklist = page.getByTestId('new-client-form').getByTestId('scope-checklist');
  await expect(checklist.getByRole('checkbox')).toHaveCount(12);
  const destructive = checklist.locator('.scope.destructive');
  await expect(destructive).toHaveCount(4);
  await expect(destructive.filter({ hasText: 'caas:users:delete' })).toContainText('Destructive');
  await expect(checklist.getByTestId('scope-caas:users:delete')).not.toBeChecked();

  // No scope ticked: refused with a reason.
  await page.getByTestId('create-client').click();
  await expect(page.getByTestId('form-error')).toContainText('Tick at least one scope');
  await expect(page.getByTestId('no-clients')).toBeVisible();

  // The refused request is logged by Chromium as a failed load; nothing else.
  expect(problems.filter((p) => !p.includes('status of 422'))).toEqual([]);
});

test('another account cannot open a project by its address', async ({ browser }) => {
  const a = await browser.newPage();
  await signUp(a, 'First Org', uniqueEmail('first'));
  await expect(a.getByTestId('page-title')).toHaveText('Projects');
  await hydrated(a);
  await newProject(a, 'Private', 'api-partner');
  const url = a.url();

  const b = await (await browser.newContext()).newPage();
  await signUp(b, 'Second Org', uniqueEmail('second'));
  await expect(b.getByTestId('page-title')).toHaveText('Projects');
  await b.goto(url);
  await expect(b.getByTestId('project-not-found')).toBeVisible();
  await expect(b.getByText('Private')).toHaveCount(0);
});

test('an owner makes a management client, whose token drives the management API', async ({ page, request }) => {
  await signUp(page, 'Pipeline Co', uniqueEmail('pipeline'));
  await hydrated(page);
  await newProject(page, 'Deploy pipeline', 'api-manage');
  const { id, secret } = await newClient(page, ['manage:projects:read', 'manage:projects:write']);
  const minted = await request.post('/oauth/token', {
    headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
    form: { grant_type: 'client_credentials', scope: 'manage:projects:read manage:projects:write' },
  });
  expect(minted.status()).toBe(200);
  const token = (await minted.json()).access_token as string;
  const made = await request.post('/manage/v1/projects', {
    headers: { authorization: `Bearer ${token}` },
    data: { name: 'Made by the pipeline', api_id: 'partner' },
  });
  expect(made.status()).toBe(201);
  await page.goto('/projects');
  await expect(page.getByText('Made by the pipeline')).toBeVisible();
});
