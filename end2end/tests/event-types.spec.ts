import { expect, test } from '@playwright/test';
import { apiKey, signInAsAdmin, waitForHydration } from './pages/portal';

// An admin adds an event type with a JSON Schema in the portal; publishing then follows it:
// data that breaks the schema is refused with 422 and the reason, and archiving the type
// refuses new events.
test('an admin adds a type with a schema, and a publish that breaks it gets 422 with the reason', async ({ page, request }) => {
  const name = `order.shipped_${Date.now()}`;
  const auth = { authorization: `Bearer ${apiKey()}` };
  const publish = (data: unknown) => request.post('/api/v1/events', { headers: auth, data: { type: name, data } });

  // Unknown until the admin adds it.
  expect((await publish({ order_id: 'ord_1' })).status()).toBe(422);

  await signInAsAdmin(page);
  await page.goto('/admin/event-types');
  await waitForHydration(page);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Description').fill('An order left the warehouse.');
  await page.getByLabel('Example payload').fill('{"order_id": "ord_1"}');
  // A schema that cannot be used is refused next to its field, and nothing is saved.
  await page.getByLabel('JSON Schema').fill('{"type": 12}');
  await page.getByRole('button', { name: 'Add event type' }).click();
  await expect(page.getByTestId('field-error')).toContainText('Not a usable JSON Schema');
  expect((await publish({ order_id: 'ord_1' })).status()).toBe(422);

  await page.getByLabel('JSON Schema').fill('{"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "string"}}}');
  await page.getByRole('button', { name: 'Add event type' }).click();
  const row = page.locator(`[data-testid=event-type-row][data-name="${name}"]`);
  await expect(row).toContainText('JSON Schema');
  await expect(row.getByTestId('event-type-state')).toHaveText('Active');

  const broken = await publish({ order_id: 42 });
  expect(broken.status()).toBe(422);
  const reason = (await broken.json()).error.message as string;
  expect(reason).toContain(`does not match the schema of ${name}`);
  expect(reason).toContain('/order_id');
  expect((await publish({ order_id: 'ord_2' })).status()).toBe(201);

  // Archived from the list: refused; restored: accepted again.
  await row.getByRole('button', { name: 'Archive' }).click();
  await expect(row.getByTestId('event-type-state')).toHaveText('Archived');
  const archived = await publish({ order_id: 'ord_3' });
  expect(archived.status()).toBe(422);
  expect((await archived.json()).error.message).toContain('archived');
  await row.getByRole('button', { name: 'Restore' }).click();
  await expect(row.getByTestId('event-type-state')).toHaveText('Active');
  expect((await publish({ order_id: 'ord_4' })).status()).toBe(201);

  // Editing keeps the name and changes the schema: the number that was refused now passes.
  await row.getByRole('link', { name: 'Edit' }).click();
  await waitForHydration(page);
  await expect(page.getByLabel('Name')).toHaveValue(name);
  await page.getByLabel('JSON Schema').fill('');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(row).toContainText('—');
  expect((await publish({ order_id: 42 })).status()).toBe(201);
});
