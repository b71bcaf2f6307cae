import { expect, test, type APIRequestContext } from '@playwright/test';
import { RECEIVER, apiKey, signInAsAdmin } from './pages/portal';

/** Creates a webhook over REST, subscribed to test events only; its id. */
async function webhook(request: APIRequestContext, name: string): Promise<string> {
  const response = await request.post('/api/v1/webhooks', {
    headers: { authorization: `Bearer ${apiKey()}` },
    data: { name, url: `${RECEIVER}/alerts-${Date.now()}`, event_types: ['webhook.test'] },
  });
  expect(response.status()).toBe(201);
  return (await response.json()).id;
}

async function setEnabled(request: APIRequestContext, id: string, enabled: boolean) {
  const response = await request.patch(`/api/v1/webhooks/${id}`, {
    headers: { authorization: `Bearer ${apiKey()}` },
    data: { enabled },
  });
  expect(response.status()).toBe(200);
}

test('an admin changes an endpoint\'s alert rules; a wrong value is refused by name', async ({ page, request }) => {
  const id = await webhook(request, `Alert rules ${Date.now()}`);
  await signInAsAdmin(page);
  await page.goto(`/admin/webhooks/${id}`);
  const form = page.getByTestId('alert-rules-form');
  await expect(form.getByLabel('Alert below success rate (%)')).toHaveValue('95');
  await expect(form.getByLabel('Over the last (minutes)')).toHaveValue('60');

  await form.getByLabel('Over the last (minutes)').fill('2');
  await form.getByRole('button', { name: 'Save alert rules' }).click();
  await expect(page.getByRole('alert')).toContainText('Over the last (minutes): from 5 to 1440');

  await page.goto(`/admin/webhooks/${id}`);
  await form.getByLabel('Over the last (minutes)').fill('30');
  await form.getByLabel('Alert above p95 response time (ms)').fill('');
  await form.getByLabel('Email').fill('oncall@example.com, ops@example.com');
  await form.getByRole('checkbox', { name: 'While the endpoint is disabled' }).uncheck();
  await form.getByRole('button', { name: 'Save alert rules' }).click();
  await page.goto(`/admin/webhooks/${id}`);
  await expect(form.getByLabel('Over the last (minutes)')).toHaveValue('30');
  await expect(form.getByLabel('Alert above p95 response time (ms)')).toHaveValue('');
  await expect(form.getByLabel('Email')).toHaveValue('oncall@example.com, ops@example.com');
  await expect(form.getByRole('checkbox', { name: 'While the endpoint is disabled' })).not.toBeChecked();
  const rules = await (await request.get(`/api/v1/webhooks/${id}/alert-rules`, { headers: { authorization: `Bearer ${apiKey()}` } })).json();
  expect(rules).toMatchObject({ window_minutes: 30, max_p95_ms: null, on_disabled: false, email_to: ['oncall@example.com', 'ops@example.com'] });
});

test('a disabled endpoint puts a banner on every page and a row on the alerts page until it is enabled', async ({ page, request }) => {
  // A hostile name: it must show as text, never run.
  const name = `<img src=x onerror=alert(1)> Alerting ${Date.now()}`;
  page.on('dialog', (dialog) => {
    throw new Error(`a dialog opened: ${dialog.message()}`);
  });
  const id = await webhook(request, name);
  await signInAsAdmin(page);
  const banner = page.getByTestId('alert-banner');
  await expect(banner.filter({ hasText: name })).toHaveCount(0);

  await setEnabled(request, id, false);
  await expect(async () => {
    await page.goto('/admin/webhooks');
    await expect(banner).toContainText(`${name}: Endpoint disabled`, { timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await page.goto('/admin/event-types');
  await expect(banner).toContainText(`${name}: Endpoint disabled`);

  await banner.getByRole('link', { name: 'See alerts' }).click();
  const row = page.getByTestId('alert-row').filter({ hasText: name });
  await expect(row).toHaveAttribute('data-open', 'true');
  await expect(row).toContainText('Endpoint disabled');
  await expect(row).toContainText('Firing');

  await setEnabled(request, id, true);
  await expect(async () => {
    await page.goto('/admin/alerts');
    await expect(row).toHaveAttribute('data-open', 'false', { timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await expect(row).toContainText('the endpoint is enabled again');
  await expect(banner.filter({ hasText: name })).toHaveCount(0);
});
