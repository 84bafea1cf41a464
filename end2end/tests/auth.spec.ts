import { expect, test } from '@playwright/test';
import { hydrated, logIn, logOut, PASSWORD, signUp, signUpOnly, uniqueEmail, watchForErrors } from './helpers';

test('sign up lands in the console, whose pages arrive whole from the server', async ({ page }) => {
  const problems = watchForErrors(page);
  const email = uniqueEmail('ada');
  await signUp(page, 'Acme Lending', email);

  await expect(page).toHaveURL(/\/projects$/);
  await expect(page.getByTestId('account-name')).toHaveText('Acme Lending');
  await expect(page.getByTestId('page-title')).toHaveText('Projects');
  await expect(page.getByRole('navigation', { name: 'Console' })).toBeVisible();

  await page.getByRole('link', { name: 'Settings' }).click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByTestId('settings-email')).toHaveText(email);
  await hydrated(page);
  await expect(page.getByRole('link', { name: 'Settings' })).toHaveAttribute('aria-current', 'page');

  // The page is complete HTML before any script runs (only the interactive
  // islands hydrate): the server's answer already holds the data.
  const html = await (await page.context().request.get('/settings')).text();
  expect(html).toContain(email);
  expect(html).toContain('Acme Lending');

  expect(problems, 'no script errors or CSP violations').toEqual([]);
});

test('log out, then log in again', async ({ page }) => {
  const problems = watchForErrors(page);
  const email = uniqueEmail('bob');
  await signUp(page, 'Bob Builds', email);
  await expect(page).toHaveURL(/\/projects$/);

  await logOut(page);
  // The session is gone server-side: a console page sends us back.
  await page.goto('/projects');
  await expect(page).toHaveURL(/\/login\?next=\/projects$/);

  await logIn(page, email.toUpperCase());
  await expect(page).toHaveURL(/\/projects$/);
  await expect(page.getByTestId('account-name')).toHaveText('Bob Builds');
  expect(problems).toEqual([]);
});

test('a wrong password gets a clear message and no session', async ({ page }) => {
  const email = uniqueEmail('cy');
  await signUp(page, 'Cy Corp', email);
  await expect(page).toHaveURL(/\/projects$/);
  await logOut(page);

  await logIn(page, email, 'not my password at all');
  await expect(page.getByRole('alert')).toHaveText('Incorrect email or password.');
  await expect(page).toHaveURL(/\/login$/);

  // An unknown email reads exactly the same.
  await page.getByLabel('Email').fill(uniqueEmail('nobody'));
  await page.getByTestId('submit').click();
  await expect(page.getByRole('alert')).toHaveText('Incorrect email or password.');

  await page.goto('/settings');
  await expect(page).toHaveURL(/\/login\?next=\/settings$/);
});

test('a protected page sends a signed-out visitor to log in and back', async ({ page }) => {
  const email = uniqueEmail('dee');
  await signUp(page, 'Dee Data', email);
  await expect(page).toHaveURL(/\/projects$/);
  await logOut(page);

  await page.goto('/settings');
  await expect(page).toHaveURL(/\/login\?next=\/settings$/);
  await logIn(page, email);
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByTestId('settings-account-name')).toHaveText('Dee Data');
});

test('signing up again with a taken email reveals nothing and tells its owner', async ({ page }) => {
  const email = uniqueEmail('eve');
  await signUp(page, 'Eve Inc', email);
  await expect(page).toHaveURL(/\/projects$/);
  await logOut(page);

  // The same answer as a first sign-up; no second account, no new password.
  await signUpOnly(page, 'Eve Again', ` ${email.toUpperCase()} `, 'a different passphrase here');
  await logIn(page, email, 'a different passphrase here');
  await expect(page.getByRole('alert')).toHaveText('Incorrect email or password.');
  await logIn(page, email);
  await expect(page).toHaveURL(/\/projects$/);
  await expect(page.getByTestId('account-name')).toHaveText('Eve Inc');

  await page.goto('/audit');
  await expect(page.getByText('someone tried to sign up again with')).toBeVisible();
});

test('the log-in form is usable from the keyboard', async ({ page }) => {
  const email = uniqueEmail('kim');
  await signUp(page, 'Kim Keys', email);
  await logOut(page);

  await hydrated(page);
  await page.getByLabel('Email').focus();
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/projects$/);
});
