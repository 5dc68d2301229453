// The Images view as a person sees it in the browser-based VS Code: open the Sigstore view,
// expand an image, read the rows (label and description, as the screen reader gets them).
// Used by the VS Code test run's UI check and by the README screenshots. Selectors are
// code-server 4.100.3's (VS Code 1.100); the DOM is not API.

const ROWS = '.pane-body .monaco-list-row[role="treeitem"]';

/**
 * @param {import('playwright-core').Page} page
 * @param {{ reference: string, screenshot?: string }} opts
 * @returns {Promise<Array<{ level: number, label: string }>>} the view's rows once the image's signatures are listed
 */
export async function showImagesView(page, { reference, screenshot }) {
  await page.locator('.activitybar .action-item a[aria-label^="Sigstore"]').click();
  const image = page.locator(ROWS, { hasText: reference }).first();
  await image.waitFor({ timeout: 60_000 });
  if ((await image.getAttribute('aria-expanded')) !== 'true') await image.click();
  await page.locator(ROWS, { hasText: /^Signature/ }).first().waitFor({ timeout: 60_000 });
  await page.locator(ROWS, { hasText: /^SBOMs/ }).first().waitFor({ timeout: 30_000 });
  if (screenshot) {
    // A wider side bar, so descriptions show whole; the pointer off the rows (no hover).
    const box = await page.locator('.part.sidebar').boundingBox();
    if (box) {
      await page.mouse.move(box.x + box.width, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + 820, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
    }
    await page.mouse.move(1200, 800);
    await page.screenshot({ path: screenshot });
  }
  return page.locator(ROWS).evaluateAll((rows) =>
    rows.map((r) => ({ level: Number(r.getAttribute('aria-level') ?? '1'), label: r.getAttribute('aria-label') ?? '' })),
  );
}
