// "Sign Artifact" the way a person does it in the browser-based VS Code: palette, quick pick,
// the device-code dialog's "Copy & Open", the OpenID provider's page in a new tab, back to
// the notification and the badge. Used by the VS Code test run's UI check and by the README
// screenshots. Selectors are code-server 4.100.3's (VS Code 1.100); the DOM is not API.
import path from 'node:path';
/* global getComputedStyle, document -- the evaluate callbacks run in the page */

const ROW = (name) => `.explorer-folders-view .monaco-list-row[role="treeitem"][aria-label=${JSON.stringify(name)}]`;

/**
 * Opens the quick input with `prefix` (F1: the palette, Control+P: Quick Open), types `text`
 * and takes the first entry once one showing `shown` is listed.
 * @param {import('playwright-core').Page} page
 */
export async function runQuickInput(page, prefix, text, shown = text) {
  // Each step waits for the quick input to open, and to close again after Enter: keys sent
  // while one closes land nowhere (or in the one closing).
  const quickInput = page.locator('.quick-input-widget');
  const step = async (what, action) => {
    try {
      await action();
    } catch (e) {
      throw new Error(`${prefix} "${text}": ${what}: ${e.message.split('\n')[0]}`);
    }
  };
  await step('the previous quick input did not close', () => quickInput.waitFor({ state: 'hidden', timeout: 15_000 }));
  await page.keyboard.press(prefix);
  await step('no quick input opened', () => quickInput.waitFor({ state: 'visible', timeout: 15_000 }));
  // Typing goes where the focus is: into the quick input, not the Explorer's type-to-find.
  await step('the quick input did not take the focus', () =>
    page.waitForFunction(() => document.activeElement?.closest('.quick-input-widget') !== null, undefined, { timeout: 15_000 }),
  );
  await page.keyboard.type(text);
  await step('the entry did not show', () => page.locator('.quick-input-list .monaco-list-row', { hasText: shown }).first().waitFor({ timeout: 15_000 }));
  await page.keyboard.press('Enter');
}

/**
 * Signs `file` (relative to the workspace, one folder deep at most) keyless through the
 * workbench in `page`. Returns what the person saw: the code, the provider's final page
 * title, the closing notification, and the file's Explorer badge.
 * @param {import('playwright-core').Page} page
 * @param {{ file: string, screenshots?: string }} opts screenshots: folder for sign-*.png
 */
export async function signThroughWorkbench(page, { file, screenshots }) {
  const shot = async (name) => screenshots && page.screenshot({ path: path.join(screenshots, name) });
  const parts = file.split('/');
  // Quick Open makes it the active editor (which the palette command signs), wherever the
  // Explorer is scrolled.
  const palette = (prefix, text, shown) => runQuickInput(page, prefix, text, shown);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await palette('Control+P', file, parts.at(-1));
  await page.locator(`.tabs-container .tab[aria-label*=${JSON.stringify(parts.at(-1))}]`).first().waitFor({ timeout: 30_000 });

  await palette('F1', 'Sigstore: Sign Artifact');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Sigstore keyless' }).first().waitFor({ timeout: 15_000 });
  await shot('sign-method.png');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Sigstore keyless' }).first().click();

  const dialog = page.locator('.monaco-dialog-box', { hasText: 'Sign in to Sigstore with the code' });
  await dialog.waitFor({ timeout: 30_000 });
  const code = /code ([A-Z0-9-]+)/.exec(await dialog.innerText())?.[1];
  await shot('sign-device-code.png');
  const opened = page.context().waitForEvent('page', { timeout: 30_000 });
  await dialog.locator('.monaco-button', { hasText: 'Copy & Open' }).click();
  // VS Code asks before opening a site it does not know yet.
  const confirm = page.locator('.monaco-dialog-box', { hasText: 'open the external website' });
  await confirm.waitFor({ timeout: 15_000 });
  await confirm.locator('.monaco-button', { hasText: /^Open$/ }).click();

  // The provider's page, in the new tab: it shows the same code; the person confirms.
  const provider = await opened;
  await provider.waitForLoadState();
  const shown = await provider.locator('code').first().innerText({ timeout: 15_000 });
  await provider.locator('button[type="submit"]:not([name="abort"])').first().click();
  await provider.locator('h1').first().waitFor({ timeout: 15_000 });
  const providerTitle = await provider.locator('h1').first().innerText();
  await provider.close();

  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Sigstore: signed' }).first();
  await toast.waitFor({ timeout: 60_000 });
  const message = (await toast.locator('.notification-list-item-message').first().innerText()).trim();
  // Revealing the file puts its row (and badge) in the DOM; it also moves the focus to the
  // Explorer a moment later, so it comes after every keystroke meant for a quick input.
  await palette('F1', 'File: Reveal Active File in Explorer View');
  const row = page.locator(ROW(parts.at(-1))).first();
  await row.waitFor({ timeout: 30_000 });
  await shot('sign-done.png');
  const readBadge = () =>
    row
      .locator('.monaco-icon-label')
      .first()
      .evaluate((label) => {
        const after = getComputedStyle(label, '::after').content;
        return /^".*"$/.test(after) ? JSON.parse(after) : '';
      });
  // The decoration follows the notification within moments; wait for it, bounded.
  let badge = await readBadge();
  for (let i = 0; !badge && i < 40; i++) {
    await page.waitForTimeout(250); // poll interval of a bounded wait, not a fixed delay
    badge = await readBadge();
  }
  return { code, codeOnProviderPage: shown, providerTitle, message, badge };
}
