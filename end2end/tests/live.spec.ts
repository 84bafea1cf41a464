import { expect, test } from '@playwright/test';
import { LIVE, hydrated, newClient, newProject, signUp, uniqueEmail, watchForErrors } from './helpers';

test('an open project page follows a client retired in another tab and the tokens minted meanwhile, without a reload', async ({
  page,
  context,
  request,
}) => {
  const problems = watchForErrors(page);
  await signUp(page, 'Live Lending', uniqueEmail('live'));
  await newProject(page, 'Watched project', 'api-partner');
  const { id } = await newClient(page, ['applications:read']);
  await expect(page.getByTestId('traffic-allowed')).toHaveText('0');
  // A mark that a reload would wipe.
  await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));

  // Another tab retires the client.
  const other = await context.newPage();
  await other.goto(page.url());
  await hydrated(other);
  const card = other.locator(`[data-client-id="${id}"]`);
  await card.getByTestId('open-retire').click();
  await card.getByTestId('confirm-retire').click();
  await expect(card.getByTestId('client-status')).toHaveText('Disabled');
  await other.close();

  // The first tab shows it at once: the change came through the feed.
  const watched = page.locator(`[data-client-id="${id}"]`);
  await expect(watched.getByTestId('client-status')).toHaveText('Disabled', { timeout: 5_000 });

  // Tokens minted by a second client show on the chart as they happen;
  // its card, with a form open on it, waits until the form is closed.
  const second = await newClient(page, ['applications:read', 'decisions:read']);
  const secondCard = page.locator(`[data-client-id="${second.id}"]`);
  await secondCard.getByTestId('open-narrow').click();
  const narrow = secondCard.getByTestId('narrow-form');
  await narrow.getByTestId('scope-decisions:read').uncheck();
  const minted = await request.post('/oauth/token', {
    headers: { authorization: 'Basic ' + Buffer.from(`${second.id}:${second.secret}`).toString('base64') },
    form: { grant_type: 'client_credentials', scope: 'applications:read' },
  });
  expect(minted.status()).toBe(200);
  await expect(page.getByTestId('traffic-allowed')).toHaveText('1', { timeout: LIVE });
  // The change was heard, and the half-filled form is still as it was.
  await expect(narrow).toBeVisible();
  await expect(narrow.getByTestId('scope-decisions:read')).not.toBeChecked();
  await expect(narrow.getByTestId('scope-applications:read')).toBeChecked();
  await expect(secondCard.getByTestId('minted-5m')).toHaveText('0');
  // Closed: the card catches up.
  await secondCard.getByTestId('open-narrow').click();
  await expect(narrow).toHaveCount(0);
  await expect(secondCard.getByTestId('minted-5m')).toHaveText('1', { timeout: LIVE });
  expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
  expect(problems).toEqual([]);
});
