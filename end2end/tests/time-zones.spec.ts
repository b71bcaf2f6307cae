import { expect, test } from '@playwright/test';
import { DeliveriesPage, publish, signInAsAdmin } from './pages/portal';

// An admin in India (UTC+05:30 all year, so the test does not depend on the date).
test.use({ timezoneId: 'Asia/Kolkata' });

const OFFSET_MS = 330 * 60_000;

/** `YYYY-MM-DDTHH:MM` of an instant in UTC+05:30, as a datetime-local input holds it. */
function inKolkata(ms: number): string {
  return new Date(ms + OFFSET_MS).toISOString().slice(0, 16);
}

test('times show in the admin zone with UTC on hover, and date-times typed there are read there', async ({ page, request }) => {
  const eventId = await publish(request, 'user.created', { user_id: `usr_tz_${Date.now()}` });
  await signInAsAdmin(page);
  const log = new DeliveriesPage(page);
  await log.goto(`?q=${eventId}`);
  const row = log.rows().filter({ hasText: 'Local receiver' });
  await expect(row).toHaveCount(1, { timeout: 20_000 });

  // The detail page: the created time in UTC+05:30, the same instant in UTC on hover.
  await row.getByRole('link', { name: 'View' }).click();
  const created = page.locator('time').first();
  await expect(created).toContainText('UTC+05:30');
  const utc = (await created.getAttribute('title'))!;
  expect(utc).toMatch(/ UTC$/);
  const instant = Date.parse((await created.getAttribute('datetime'))!);
  expect(Date.parse(utc.replace(' UTC', 'Z').replace(' ', 'T'))).toBe(instant);
  expect(await created.textContent()).toBe(`${inKolkata(instant).replace('T', ' ')}:${new Date(instant).toISOString().slice(17, 19)} UTC+05:30`);

  // The log's From field, typed in India time. Ten minutes before the event: it is listed;
  // a minute after: it is not. (Read as UTC, both would be hours in the future.)
  await log.goto(`?q=${eventId}`);
  await page.getByLabel('From').fill(inKolkata(instant - 10 * 60_000));
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/tz=330/);
  await expect(log.rows().filter({ hasText: 'Local receiver' })).toHaveCount(1);
  await page.getByLabel('From').fill(inKolkata(instant + 60_000));
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(new RegExp(`from=${encodeURIComponent(inKolkata(instant + 60_000))}`));
  await expect(log.rows()).toHaveCount(0);

  // A reload keeps the field as typed, in the zone it was typed in.
  await page.reload();
  await expect(page.getByLabel('From')).toHaveValue(inKolkata(instant + 60_000));
});
