import { expect, test, type Page } from '@playwright/test';
import { hydrated, newProject, signUp, uniqueEmail, watchForErrors } from './helpers';

/** The `/pkg/` files the page fetches from now on. */
function pkgRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith('/pkg/')) seen.push(path.slice('/pkg/'.length));
  });
  return seen;
}

const islandFile = (island: string) => new RegExp(`^split_${island}_loader_[0-9]+\\.wasm$`);
const laziness = /^(split_|chunk_)/;

test('the log-in page loads no lazy island; a console page fetches the islands it shows, and they work', async ({ page }) => {
  const problems = watchForErrors(page);
  const seen = pkgRequests(page);
  await page.goto('/login');
  await hydrated(page);
  expect(seen).toContain('portcullis.wasm');
  expect(seen.filter((f) => laziness.test(f))).toEqual([]);
  // The loader of lazy islands is preloaded beside the glue and used once.
  expect(seen.filter((f) => f.startsWith('__wasm_split.'))).toHaveLength(1);

  // Signing up lands on the projects list, whose new-project form is lazy:
  // the page names its files for preloading, the browser fetches them, and
  // the form works once the page says it is hydrated.
  seen.length = 0;
  await signUp(page, 'Lazy Loading Ltd', uniqueEmail('lazy'));
  const html = await (await page.request.get('/projects')).text();
  const preloads = [...html.matchAll(/<link [^>]*>/g)]
    .map((m) => m[0])
    .filter((tag) => tag.includes('rel="preload"'))
    .map((tag) => /href="\/pkg\/([^"]+)"/.exec(tag)?.[1] ?? '');
  expect(preloads.some((f) => islandFile('new_project_form').test(f))).toBe(true);
  expect(preloads.some((f) => /^chunk_[0-9]+\.wasm$/.test(f))).toBe(true);
  expect(new Set(preloads).size).toBe(preloads.length);
  expect(seen.some((f) => islandFile('new_project_form').test(f))).toBe(true);
  expect(seen.some((f) => islandFile('clients_section').test(f))).toBe(false);
  // The loader's fetch takes the preloaded response: nothing twice.
  const twice = (files: string[]) => files.filter((f, i) => files.indexOf(f) !== i);
  expect(twice(seen.filter((f) => laziness.test(f)))).toEqual([]);

  seen.length = 0;
  await newProject(page, 'Lazy project', 'api-partner');
  for (const island of ['clients_section', 'live_traffic', 'settings_card', 'rate_limit_form', 'keys_only_card']) {
    expect(seen.some((f) => islandFile(island).test(f)), island).toBe(true);
  }
  expect(seen.some((f) => islandFile('webhooks_section').test(f))).toBe(false);
  expect(twice(seen.filter((f) => laziness.test(f)))).toEqual([]);
  // A hydrated lazy island reacts in place: choosing a key shows its field.
  const form = page.getByTestId('new-client-form');
  await expect(form.getByTestId('public-keys')).toHaveCount(0);
  await form.getByTestId('auth-key').check();
  await expect(form.getByTestId('public-keys')).toBeVisible();
  expect(problems).toEqual([]);
});
