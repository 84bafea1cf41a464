import { expect, test } from '@playwright/test';
import { hydrated, join, newProject, signUp, uniqueEmail, watchForErrors } from './helpers';

test('an owner invites a viewer, who joins and cannot create a client; removal signs them out', async ({ browser, page }) => {
  const problems = watchForErrors(page);
  await signUp(page, 'Team Co', uniqueEmail('owner'));
  await expect(page.getByTestId('page-title')).toHaveText('Projects');
  await hydrated(page);
  await newProject(page, 'Shared', 'api-partner');
  const projectUrl = page.url();

  await page.getByRole('link', { name: 'Team' }).click();
  await expect(page.getByTestId('page-title')).toHaveText('Team');
  // The team section is a lazy island: a choice made before it hydrates
  // is reset to its default when it does.
  await hydrated(page);
  await page.getByTestId('invite-role').selectOption('viewer');
  await page.getByTestId('create-invite').click();
  const link = (await page.getByTestId('invite-link').textContent())!.trim();
  expect(link).toMatch(/\/join#[A-Za-z0-9_-]{43}$/);

  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  const viewerEmail = uniqueEmail('viewer');
  await viewer.goto(link);
  await hydrated(viewer);
  await expect(viewer.getByTestId('join-preview')).toContainText('Team Co');
  await expect(viewer.getByTestId('join-preview')).toContainText('viewer');
  await join(viewer, link, viewerEmail);
  await expect(viewer.getByTestId('account-name')).toHaveText('Team Co');

  // Read-only: the project is visible, creating anything is not offered.
  await viewer.goto(projectUrl);
  await hydrated(viewer);
  await expect(viewer.getByTestId('page-title')).toContainText('Shared');
  await expect(viewer.getByTestId('new-client-form')).toHaveCount(0);
  await viewer.goto('/projects');
  await hydrated(viewer);
  await expect(viewer.getByTestId('new-project-form')).toHaveCount(0);

  // The link is spent.
  const again = await (await browser.newContext()).newPage();
  await again.goto(link);
  await hydrated(again);
  await expect(again.getByTestId('join-invalid')).toBeVisible();

  // The owner removes the viewer, whose next page load goes to log-in.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('member-row')).toHaveCount(2);
  await page.getByTestId('remove-member').click();
  await expect(page.getByTestId('member-row')).toHaveCount(1);
  await viewer.goto('/projects');
  await expect(viewer).toHaveURL(/\/login/);
  expect(problems).toEqual([]);
});
