import { expect, type Page } from '@playwright/test';

export const PASSWORD = 'correct horse battery staple';

let counter = 0;
/** A fresh address per test, so tests never share an account. */
export function uniqueEmail(tag: string): string {
  counter += 1;
  return `${tag}.${Date.now()}.${counter}@example.com`;
}

/** Waits until the page has hydrated (the app marks <body>). */
export async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** Fails the test on any script error or CSP violation the page reports. */
export function watchForErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  return problems;
}

export async function signUp(page: Page, account: string, email: string, password = PASSWORD) {
  await page.goto('/signup');
  await hydrated(page);
  await page.getByLabel('Organisation name').fill(account);
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByTestId('submit').click();
}

export async function logIn(page: Page, email: string, password = PASSWORD) {
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByTestId('submit').click();
}

export async function logOut(page: Page) {
  await page.getByTestId('user-menu').click();
  await page.getByTestId('logout').click();
  await expect(page).toHaveURL(/\/login$/);
}
