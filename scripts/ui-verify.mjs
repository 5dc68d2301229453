// Verify from the menus a person uses, in the real workbench: the Explorer's context menu on
// a file and on a companion, an editor tab's context menu, and the editor title button (shown
// for a file with evidence, gone for one without). Used by the VS Code test run's UI check.
// VS Code's DOM is not API; these are the selectors of code-server 4.100.3 / VS Code 1.100:
//   menu:    context menus are .monaco-menu (light DOM here; in an open shadow root,
//            .shadow-root-host, in other versions: Playwright's CSS locators pierce those);
//            items .action-menu-item holding an .action-label with the title;
//   tab:     .tabs-container .tab[role=tab], aria-label = the label ("hello.txt", or
//            "Preview hello.txt (Sigstore report).md" for a report); class active in its group;
//   title:   .editor-group-container.active .editor-actions a.action-label[aria-label=<title>];
//   preview: the Markdown preview is a webview, iframe.webview.ready holding iframe#active-frame
//            with the rendered report (its h1, and the result in the first strong).
import path from 'node:path';

import { runQuickInput } from './ui-signing.mjs';

const ACTIVE_GROUP = '.editor-group-container.active';
const ROW = (file) => `.explorer-folders-view .monaco-list-row[role="treeitem"][aria-label=${JSON.stringify(path.posix.basename(file))}]`;
const TAB = (file) => `${ACTIVE_GROUP} .tabs-container .tab[aria-label=${JSON.stringify(path.posix.basename(file))}]`;
const TITLE_VERIFY = `${ACTIVE_GROUP} .editor-actions a.action-label[aria-label="Verify"]`;

/**
 * Runs Verify from each menu and reads the report each opened. Files are relative to the
 * workspace; their Explorer rows must be rendered (folders expanded), and their names unique.
 * @param {import('playwright-core').Page} page
 * @param {{ verified: string, failed: string, companion: string, unsigned: string, screenshots: string }} files
 *   companion: a companion of `verified`; unsigned: a file without evidence
 * @returns {Promise<{ reports: Array<{ where: string, clicked: string, tab: string, heading: string, result: string }>,
 *                     titleButtonLeftForUnsigned: boolean }>}
 */
export async function verifyThroughMenus(page, { verified, failed, companion, unsigned, screenshots }) {
  const shot = (name) => page.screenshot({ path: path.join(screenshots, name) });
  const reports = [];
  const step = async (what, action) => {
    try {
      return await action();
    } catch (e) {
      throw new Error(`${what}: ${e.message.split('\n')[0]}`);
    }
  };

  await closeAllEditors(page);
  for (const [file, screenshot] of [
    [verified, 'verify-explorer-menu.png'],
    [failed, 'verify-explorer-failed-menu.png'],
    [companion, 'verify-companion-menu.png'],
  ]) {
    await step(`Explorer menu of ${file}`, async () => {
      const row = page.locator(ROW(file)).first();
      await row.waitFor({ timeout: 30_000 });
      await row.click({ button: 'right' });
      await clickMenuItem(page, 'Verify', () => shot(screenshot));
    });
    reports.push({ where: 'explorer', clicked: file, ...(await step(`the report after Verify on ${file}`, () => readReport(page))) });
    await closeAllEditors(page);
  }

  await step(`tab menu of ${verified}`, async () => {
    await openFile(page, verified);
    await page.locator(TAB(verified)).click({ button: 'right' });
    await clickMenuItem(page, 'Verify', () => shot('verify-tab-menu.png'));
  });
  reports.push({ where: 'tab', clicked: verified, ...(await step(`the report after Verify on the tab of ${verified}`, () => readReport(page))) });
  await closeAllEditors(page);

  await step(`editor title of ${failed}`, async () => {
    await openFile(page, failed);
    const button = page.locator(TITLE_VERIFY);
    await button.waitFor({ timeout: 30_000 });
    await button.hover();
    await shot('verify-editor-title.png');
    await button.click();
  });
  reports.push({ where: 'editor title', clicked: failed, ...(await step(`the report after the title button of ${failed}`, () => readReport(page))) });
  await closeAllEditors(page);

  // Without evidence: the button of the file shown before must go once the group shows this one.
  const titleButtonLeftForUnsigned = await step(`editor title of ${unsigned}`, async () => {
    await openFile(page, verified);
    await page.locator(TITLE_VERIFY).waitFor({ timeout: 30_000 });
    await openFile(page, unsigned);
    const gone = await page
      .locator(TITLE_VERIFY)
      .waitFor({ state: 'detached', timeout: 15_000 })
      .then(() => true, () => false);
    await shot('verify-editor-title-unsigned.png');
    return gone;
  });
  await closeAllEditors(page);
  return { reports, titleButtonLeftForUnsigned };
}

/** Waits for the open context menu's item, screenshots the menu, and clicks the item. */
async function clickMenuItem(page, title, screenshot) {
  const item = page.locator('.monaco-menu .action-menu-item', { has: page.locator('.action-label', { hasText: new RegExp(`^${title}$`) }) }).first();
  try {
    await item.waitFor({ timeout: 15_000 });
  } catch {
    const items = await page.locator('.monaco-menu .action-menu-item .action-label').allInnerTexts();
    await screenshot();
    await page.keyboard.press('Escape');
    throw new Error(`no "${title}" in the menu (${items.join(', ') || 'no menu'})`);
  }
  await item.hover();
  await screenshot();
  await item.click();
}

/** Opens a file in the active group, pinned, from its Explorer row. */
async function openFile(page, file) {
  await page.locator(ROW(file)).first().dblclick();
  await page.locator(`${TAB(file)}.active`).waitFor({ timeout: 30_000 });
}

/** The report in the active group: its tab label, heading and result line. */
async function readReport(page) {
  const tab = page.locator(`${ACTIVE_GROUP} .tabs-container .tab.active[aria-label$="(Sigstore report).md"]`);
  await tab.waitFor({ timeout: 60_000 });
  // Editors were closed before: the report's webview is the only one, or the newest.
  const preview = page.frameLocator('iframe.webview.ready').last().frameLocator('iframe#active-frame');
  const heading = preview.locator('h1').first();
  await heading.waitFor({ timeout: 30_000 });
  return {
    tab: (await tab.getAttribute('aria-label')) ?? '',
    heading: (await heading.innerText()).trim(),
    result: (await preview.locator('strong').first().innerText()).trim(),
  };
}

async function closeAllEditors(page) {
  await runQuickInput(page, 'F1', 'View: Close All Editors', 'Close All Editors');
  await page.locator('.tabs-container .tab').first().waitFor({ state: 'detached', timeout: 15_000 });
}
