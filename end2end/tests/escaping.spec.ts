import { expect, test, type Page } from '@playwright/test';
import { OWNER, RECEIVER, apiKey, receiverAnswers, signInAs, waitForHydration, SAME_ORIGIN } from './pages/portal';

// Markup in every field that someone other than the admin reading the page controls: a
// producer (event data), an API-key holder (webhook fields), a receiver (response headers and
// body), a crafted link (search, form errors) and other admins (user emails, key names, audit
// details). Each payload opens a dialog if it ever runs; the test fails on the first dialog.
const attack = (n: number) => `</textarea></script></title><svg onload=alert(${n})><img src=x onerror=alert(${n})>`;

/** Collects every dialog a page opens (dismissing it) and every Content-Security-Policy refusal. */
function failOnDialogs(page: Page): string[] {
  const problems: string[] = [];
  page.on('dialog', async (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/.test(message.text())) problems.push(`csp: ${message.text()}`);
  });
  return problems;
}

test.afterEach(async ({ request }) => {
  await receiverAnswers(request, { mode: 'ok' });
});

test('markup from producers, key holders, receivers and links never runs in the portal', async ({ page, request }) => {
  const problems = failOnDialogs(page);
  const auth = { authorization: `Bearer ${apiKey()}` };
  const tag = `${Date.now()}`;

  // A receiver that answers with markup in its headers and body.
  await receiverAnswers(request, {
    mode: 'status',
    status: 500,
    body: `<html><body>${attack(1)}<script>alert(2)</script></body></html>`,
    headers: [['x-evil', attack(3)], ['content-type', 'text/html']],
  });

  // An API-key holder's webhook: markup in every text field.
  const created = await request.post('/api/v1/webhooks', {
    headers: auth,
    data: {
      name: `XSS ${tag} ${attack(4)}`,
      url: `${RECEIVER}/xss-${tag}?q="><svg/onload=alert(5)>`,
      description: attack(6),
      custom_headers: [['X-Note', attack(7)]],
      event_types: ['user.created'],
    },
  });
  expect(created.status()).toBe(201);
  const webhook = await created.json();

  // An API-key holder's event type: markup in its description, example and schema.
  const eventType = `xss.type_${tag}`;
  const typed = await request.post('/api/v1/event-types', {
    headers: auth,
    data: {
      name: eventType,
      description: `XSS ${tag} ${attack(15)}`,
      example: { [attack(16)]: attack(17) },
      schema: { type: 'object', description: attack(18) },
    },
  });
  expect(typed.status()).toBe(201);

  // A producer's event: markup in keys and values.
  const published = await request.post('/api/v1/events', {
    headers: auth,
    data: { type: 'user.created', data: { [attack(8)]: attack(9), nested: { note: '<script>alert(10)</script>' } } },
  });
  expect(published.status()).toBe(201);

  // Its delivery fails against the hostile receiver (the retry schedule is 1 s in e2e runs).
  let deliveryId = '';
  await expect(async () => {
    const list = await (await request.get(`/api/v1/webhooks/${webhook.id}/deliveries`, { headers: auth })).json();
    expect(list.data.length).toBeGreaterThan(0);
    expect(list.data[0].attempt_count).toBeGreaterThan(0);
    deliveryId = list.data[0].id;
  }).toPass({ timeout: 15_000 });

  // Another owner's doing: an email with markup is no address (refused even when posted
  // directly), and an API key whose name carries markup.
  await signInAs(page, OWNER);
  const user = await page.request.post('/api/create_user', {
    headers: { ...SAME_ORIGIN, accept: 'application/json' },
    form: { email: `x${tag}<svg/onload=alert(11)>@e2e.test`, password: 'long-enough-password', role: 'admin' },
  });
  expect(user.status()).toBe(422);
  await page.goto('/admin/api-keys');
  await waitForHydration(page);
  await page.getByLabel('Key name').fill(`key ${tag} ${attack(12)}`);
  await page.getByRole('button', { name: 'Create key' }).click();
  await expect(page.getByTestId('new-api-key')).toBeVisible();

  // Every portal page, each with the markup on it.
  const visits: [string, string][] = [
    ['/admin/webhook-deliveries', `XSS ${tag}`],
    [`/admin/webhook-deliveries?q=${encodeURIComponent(attack(13))}`, ''],
    [`/admin/webhook-deliveries/${deliveryId}`, 'alert(9)'],
    ['/admin/webhooks', `XSS ${tag}`],
    [`/admin/webhooks/${webhook.id}`, `XSS ${tag}`],
    ['/admin/users', OWNER.email],
    ['/admin/api-keys', `key ${tag}`],
    ['/admin/audit', `XSS ${tag}`],
    ['/admin/event-types', `XSS ${tag}`],
    [`/admin/event-types?edit=${eventType}`, `Edit ${eventType}`],
    [`/admin/users?__err=${encodeURIComponent(attack(14))}`, ''],
  ];
  for (const [path, visibleText] of visits) {
    await page.goto(path);
    await waitForHydration(page);
    if (visibleText) await expect(page.getByText(visibleText).filter({ visible: true }).first()).toBeVisible();
    expect(problems, path).toEqual([]);
  }

  // The markup is shown as text where it belongs: the header value masked in the form, and as
  // typed once revealed.
  await page.goto(`/admin/webhooks/${webhook.id}`);
  await waitForHydration(page);
  await expect(page.getByLabel('Custom headers')).toHaveValue('X-Note: ••••(7)>');
  await page.getByRole('button', { name: 'Reveal header values' }).click();
  await expect(page.getByTestId('revealed-headers')).toHaveText(`X-Note: ${attack(7)}`);
  await expect(page.getByLabel('Description')).toHaveValue(attack(6));
  // And on the detail page, the receiver's body and headers are text.
  await page.goto(`/admin/webhook-deliveries/${deliveryId}`);
  await waitForHydration(page);
  await expect(page.getByText('<script>alert(2)</script>', { exact: false }).first()).toBeVisible();

  await page.waitForTimeout(300); // let any late onload/onerror handler fire before judging
  expect(problems).toEqual([]);
});
