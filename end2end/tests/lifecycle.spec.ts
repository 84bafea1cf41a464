import { expect, test } from '@playwright/test';
import { hydrated, newClient, newProject, signUp, uniqueEmail, watchForErrors } from './helpers';

test('an owner retires unused clients account-wide, a project says never and sets a daily quota, and what ends this week shows', async ({
  page,
}) => {
  const problems = watchForErrors(page);
  await signUp(page, 'Lifecycle Lending', uniqueEmail('lifecycle'));

  // The account's rule: a plain form, saved with a redirect back here.
  const account = page.getByTestId('account-dormancy');
  await expect(account.getByTestId('account-dormancy')).toHaveValue('');
  await account.getByTestId('account-dormancy').selectOption('60');
  await account.getByTestId('account-dormancy-save').click();
  // server_fn's redirect back keeps an empty query.
  await expect(page).toHaveURL(/\/projects\??$/);
  await expect(page.getByTestId('account-dormancy').getByTestId('account-dormancy')).toHaveValue('60');
  await hydrated(page);

  // A project follows the account until it chooses otherwise.
  await newProject(page, 'Month-end export', 'api-partner');
  const card = page.getByTestId('project-dormancy');
  await expect(card.getByTestId('dormancy-rule')).toContainText("unused for 60 days are retired (the account's rule)");
  await expect(card.getByTestId('project-dormancy')).toHaveValue('');
  await card.getByTestId('project-dormancy').selectOption('0');
  await card.getByTestId('project-dormancy-save').click();
  await expect(page.getByTestId('project-dormancy').getByTestId('dormancy-rule')).toHaveText(
    'Unused clients are never retired.',
  );
  await hydrated(page);

  // A daily token quota, with today's use (every node's).
  await expect(page.getByTestId('quota-used')).toHaveText('No daily quota. 0 tokens minted today (UTC).');
  await page.getByTestId('daily-token-quota').fill('100');
  await page.getByTestId('quota-save').click();
  await expect(page.getByTestId('quota-used')).toHaveText('0 of 100 tokens minted today (UTC).');
  await expect(page.getByTestId('daily-token-quota')).toHaveValue('100');
  await hydrated(page);

  // A one-day client: a badge on its card, and the account's home lists it.
  await page.getByTestId('new-client-form').getByTestId('client-lifetime').selectOption('24');
  const { id } = await newClient(page, ['applications:read']);
  const client = page.locator(`[data-client-id="${id}"]`);
  await expect(client.getByTestId('ends-soon')).toHaveText('Expires within a day');
  await page.goto('/projects');
  await hydrated(page);
  await expect(page.getByTestId('ending-client')).toHaveCount(1);
  await expect(page.getByTestId('ending-client')).toContainText('Month-end export');
  await expect(page.getByTestId('ending-client')).toContainText('Expires within a day');
  await expect(page.getByTestId('project-ending')).toHaveText('A client: expires within a day');
  expect(problems).toEqual([]);
});
