import { expect, test, type Page } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { DeliveriesPage, LoginPage, MEMBER, OWNER, RECEIVER, apiKey, receivedAt, signInAs, signInAsAdmin, waitForHydration, SAME_ORIGIN } from './pages/portal';

/** Standard Webhooks check, written independently of Herald: HMAC-SHA256 over id.timestamp.body. */
function verifies(secret: string, headers: Record<string, string>, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${headers['webhook-id']}.${headers['webhook-timestamp']}.${body}`).digest('base64');
  return headers['webhook-signature'].split(' ').some((s) => s === `v1,${expected}`);
}

test('an admin creates, tests, edits, disables and rotates a webhook', async ({ page, request }) => {
  const name = `E2E receiver ${Date.now()}`;
  // The demo receiver records the path each request came to.
  const path = `/${Date.now()}`;
  await signInAsAdmin(page);
  await new DeliveriesPage(page).waitForHydration();
  await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
  await page.getByRole('link', { name: 'New webhook' }).click();
  await expect(page).toHaveURL(/\/admin\/webhooks\/new$/);
  await waitForHydration(page);

  // Field errors come from the server, next to their fields.
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('URL', { exact: true }).fill('ftp://nope.example.com');
  await page.getByLabel('Custom headers').fill('Content-Type: text/plain');
  await page.getByRole('button', { name: 'Create webhook' }).click();
  const errors = page.getByTestId('field-error');
  await expect(errors.filter({ hasText: 'https://' })).toBeVisible();
  await expect(errors.filter({ hasText: 'cannot be overridden' })).toBeVisible();

  await page.getByLabel('URL', { exact: true }).fill(`${RECEIVER}${path}`);
  await page.getByLabel('Custom headers').fill('X-Tenant: acme');
  // Only test events: the demo's background traffic stays away from this endpoint.
  await page.getByRole('checkbox', { name: 'webhook.test' }).check();
  await page.getByRole('button', { name: 'Create webhook' }).click();
  await expect(page.getByRole('heading', { name: `Edit ${name}` })).toBeVisible();
  await waitForHydration(page);

  // Send a test event and see it delivered, inline and in the log.
  await page.getByRole('button', { name: 'Send test' }).click();
  await expect(page.getByTestId('test-result')).toContainText('200', { timeout: 15_000 });
  const got = await receivedAt(page.request, path);
  expect(got.length).toBe(1);
  expect(got[0].headers['x-tenant']).toBe('acme');
  await page.getByTestId('test-result').getByRole('link').click();
  await expect(page.getByTestId('delivery-status')).toHaveText('Success');

  // Edit.
  await page.goBack();
  await waitForHydration(page);
  await page.getByLabel('Description').fill('Updated by the end-to-end test');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toBeVisible();

  // Rotate: during the overlap both the old and the new secret verify.
  await page.getByRole('button', { name: 'Reveal', exact: true }).click();
  await expect(page.getByTestId('secret')).toContainText('whsec_');
  const oldSecret = (await page.getByTestId('secret').textContent())!.trim();
  expect(oldSecret).not.toContain('•');
  await page.getByRole('button', { name: 'Rotate' }).click();
  await expect(page.getByText('Rotated')).toBeVisible();
  const newSecret = (await page.getByTestId('secret').textContent())!.trim();
  expect(newSecret).not.toBe(oldSecret);
  await page.getByRole('button', { name: 'Send test' }).click();
  await expect(page.getByTestId('test-result')).toContainText('200', { timeout: 15_000 });
  const [, afterRotation] = await receivedAt(page.request, path);
  expect(verifies(oldSecret, afterRotation.headers, afterRotation.body)).toBe(true);
  expect(verifies(newSecret, afterRotation.headers, afterRotation.body)).toBe(true);

  // Disable: new events are not sent to it.
  await page.getByRole('button', { name: 'Disable' }).click();
  await expect(page.getByTestId('webhook-state').first()).toContainText('Disabled');
  // The publish answer counts the deliveries it queued: exactly one per enabled endpoint
  // that takes webhook.test, and this one is not among them.
  const auth = { authorization: `Bearer ${apiKey()}` };
  const hooks: { name: string; enabled: boolean; event_types: string[] }[] = (await (await request.get('/api/v1/webhooks', { headers: auth })).json()).data;
  expect(hooks.find((h) => h.name === name)?.enabled).toBe(false);
  const takers = hooks.filter((h) => h.enabled && (h.event_types.length === 0 || h.event_types.includes('webhook.test')));
  const published = await request.post('/api/v1/events', { headers: auth, data: { type: 'webhook.test', data: { e2e: 'disabled' } } });
  expect(published.status()).toBe(201);
  expect((await published.json()).deliveries).toBe(takers.length);

  // The list shows it with its health (which the dispatcher writes about once a second).
  const row = page.getByTestId('webhook-row').filter({ hasText: name });
  await expect(async () => {
    await page.goto('/admin/webhooks');
    await expect(row).toContainText('100.0 % ok', { timeout: 1_000 });
  }).toPass({ timeout: 10_000 });
  await expect(row.getByTestId('webhook-state')).toHaveText('Disabled');

  // The audit log has each of these actions.
  await page.goto('/admin/audit');
  for (const action of ['endpoint.create', 'endpoint.test', 'endpoint.update', 'endpoint.secret_reveal', 'endpoint.secret_rotate', 'endpoint.disable']) {
    await expect(page.locator(`[data-testid=audit-row][data-action="${action}"]`).first()).toBeVisible();
  }
});

test('an owner creates a member, who cannot reach admin pages, and an API key, until revoked', async ({ page, browser, playwright }) => {
  await signInAs(page, OWNER);
  await page.goto('/admin/users');
  await waitForHydration(page);
  const email = `member-${Date.now()}@e2e.test`;
  await page.getByLabel('New user email').fill(email);
  await page.getByLabel('New user password').fill('member-password-2');
  await page.getByLabel('New user role').selectOption('member');
  await page.getByRole('button', { name: 'Add user' }).click();
  await expect(page.locator(`[data-testid=user-row][data-email="${email}"]`)).toBeVisible();

  const memberContext = await browser.newContext();
  const memberPage = await memberContext.newPage();
  const login = new LoginPage(memberPage);
  await login.goto();
  await login.signIn({ email, password: 'member-password-2' });
  await expect(memberPage.getByTestId('access-refused').getByText('Admin or higher role required')).toBeVisible();
  for (const path of ['/admin/webhook-deliveries', '/admin/webhooks', '/admin/users', '/admin/api-keys', '/admin/audit']) {
    await memberPage.goto(path);
    await expect(memberPage.getByTestId('access-refused').getByText('Admin or higher role required')).toBeVisible();
  }
  await memberContext.close();

  await page.goto('/admin/api-keys');
  await waitForHydration(page);
  // New keys publish only, unless the owner chooses more.
  await expect(page.getByRole('checkbox', { name: 'publish' })).toBeChecked();
  await page.getByLabel('Key name').fill('e2e-producer');
  await page.getByRole('checkbox', { name: 'read' }).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = (await page.getByTestId('new-api-key').textContent())!.trim();
  await expect(page.locator('[data-testid=key-row][data-name="e2e-producer"]').getByTestId('key-scopes')).toHaveText('publish, read');
  const api = await playwright.request.newContext({ baseURL: 'http://127.0.0.1:3100', extraHTTPHeaders: { authorization: `Bearer ${key}` } });
  expect((await api.get('/api/v1/webhooks')).status()).toBe(200);
  expect((await api.post('/api/v1/webhooks', { data: { name: 'nope', url: 'https://x.example' } })).status()).toBe(403);
  await page.locator('[data-testid=key-row][data-name="e2e-producer"]').getByRole('button', { name: 'Revoke' }).click();
  await expect(page.locator('[data-testid=key-row][data-name="e2e-producer"]')).toContainText('revoked');
  expect((await api.get('/api/v1/webhooks')).status()).toBe(401);
  await api.dispose();

  await page.goto('/admin/audit');
  for (const action of ['user.create', 'api_key.create', 'api_key.revoke', 'user.sign_in']) {
    await expect(page.locator(`[data-testid=audit-row][data-action="${action}"]`).first()).toBeVisible();
  }
});

test('an owner changes a role; the last owner cannot be disabled, and is told why', async ({ page }) => {
  await signInAs(page, OWNER);
  await page.goto('/admin/users');
  const member = page.locator(`[data-testid=user-row][data-email="${MEMBER.email}"]`);
  await member.getByRole('combobox').selectOption('admin');
  await member.getByRole('button', { name: 'Change' }).click();
  await expect(page).toHaveURL(/\/admin\/users\??$/);
  // A fresh page shows what the server stored, not what the test selected.
  await page.goto('/admin/users');
  await expect(member.getByRole('combobox')).toHaveValue('admin');
  await member.getByRole('combobox').selectOption('member');
  await member.getByRole('button', { name: 'Change' }).click();
  await expect(page).toHaveURL(/\/admin\/users\??$/);
  await page.goto('/admin/users');
  await expect(member.getByRole('combobox')).toHaveValue('member');

  const owner = page.locator(`[data-testid=user-row][data-email="${OWNER.email}"]`);
  await owner.getByRole('button', { name: 'Disable' }).click();
  await expect(page.getByRole('alert')).toContainText('This is the last owner');
  await expect(owner.getByRole('button', { name: 'Disable' })).toBeVisible();
});

test('an admin is not an owner: user and key management are refused', async ({ page }) => {
  await signInAsAdmin(page);
  await page.goto('/admin/users');
  await expect(page.getByRole('alert')).toContainText('Owner role required');
  const response = await page.request.post('/api/create_api_key', { headers: { ...SAME_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, data: 'name=sneaky' });
  expect(response.status()).toBe(403);
});

test('a member cannot call webhook functions directly', async ({ page }) => {
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(MEMBER);
  await expect(page.getByTestId('access-refused').getByText('Admin or higher role required')).toBeVisible();
  const response = await page.request.post('/api/list_webhooks', { headers: { ...SAME_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, data: '' });
  expect(response.status()).toBe(403);
});
