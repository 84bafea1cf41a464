import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { hydrated, newClient, newProject, signUp, uniqueEmail, watchForErrors } from './helpers';

test('an owner downloads the filtered audit log and the daily use as files for an auditor', async ({ page }) => {
  const problems = watchForErrors(page);
  await signUp(page, 'Evidence Lending', uniqueEmail('evidence'));
  await newProject(page, 'Audit trail', 'api-partner');
  await newClient(page, ['applications:read']);

  await page.goto('/audit');
  await hydrated(page);
  await page.getByTestId('filter-action').selectOption('client.create');
  await page.getByTestId('apply-filters').click();
  await expect(page).toHaveURL(/action=client\.create/);
  await expect(page.getByTestId('audit-row')).toHaveCount(1);

  // The log as filtered: one entry, a heading, and the closing line.
  const [csv] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('export-audit-csv').click(),
  ]);
  expect(csv.suggestedFilename()).toMatch(/^portcullis-audit_log-acc_[0-9a-f]+-\d{4}-\d{2}-\d{2}\.csv$/);
  const text = await readFile(await csv.path(), 'utf8');
  const lines = text.trimEnd().split('\r\n');
  expect(lines[0]).toBe('# Portcullis audit log');
  expect(lines[1]).toMatch(/^# account: acc_[0-9a-f]+ \(Evidence Lending\)$/);
  expect(lines[4]).toBe('id,at,actor_kind,actor,action,target_kind,target_id,project_id,client_ip,detail');
  expect(lines[5]).toContain(',client.create,client,');
  expect(lines[6]).toBe('# complete: 1 rows');

  const [json] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('export-usage-json').click(),
  ]);
  const file = JSON.parse(await readFile(await json.path(), 'utf8'));
  expect(file.kind).toBe('daily_usage');
  expect(file.account.name).toBe('Evidence Lending');
  expect(file.complete).toBe(true);
  expect(file.count).toBe(file.entries.length);
  expect(problems).toEqual([]);
});
