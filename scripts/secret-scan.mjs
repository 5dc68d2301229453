// Looks for secrets (identity tokens, key passwords) in every file under some folders and in
// captured text: used after the VS Code suites to prove signing leaked none of them to logs,
// settings, state databases or the workspace. A token also counts as leaked when only its
// claims segment shows up.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

const MAX_FILE_BYTES = 256 * 1024 * 1024;

/** The needles to look for: each secret, and for a JWT also its payload segment. */
export function needlesOf(secrets) {
  const needles = [];
  for (const { label, value } of secrets) {
    if (!value) continue;
    needles.push({ label, value });
    const parts = value.split('.');
    if (parts.length === 3 && parts[1].length > 16) needles.push({ label: `${label} (claims segment)`, value: parts[1] });
  }
  return needles;
}

/** Every file under `roots` (symlinks not followed), with its path. */
async function* filesUnder(dir) {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* filesUnder(p);
    else if (e.isFile()) yield p;
  }
}

/**
 * Returns the leaks found ({ where, label }) and how many files were read.
 * @param {{ roots: string[], texts: Array<{ name: string, text: string }>, secrets: Array<{ label: string, value: string }> }} opts
 */
export async function findSecrets({ roots, texts, secrets }) {
  const needles = needlesOf(secrets).map((n) => ({ ...n, bytes: Buffer.from(n.value, 'utf8') }));
  const leaks = [];
  let files = 0;
  for (const root of roots) {
    for await (const file of filesUnder(root)) {
      const info = await stat(file).catch(() => undefined);
      if (!info || info.size > MAX_FILE_BYTES) continue;
      const content = await readFile(file).catch(() => undefined);
      if (!content) continue;
      files++;
      for (const n of needles) if (content.includes(n.bytes)) leaks.push({ where: file, label: n.label });
    }
  }
  for (const { name, text } of texts) for (const n of needles) if (text.includes(n.value)) leaks.push({ where: name, label: n.label });
  return { leaks, files };
}

/** Files under `root` whose name matches `name` and whose content includes `text`. */
export async function filesContaining(root, name, text) {
  const found = [];
  for await (const file of filesUnder(root)) {
    if (!name.test(path.basename(file))) continue;
    const content = await readFile(file, 'utf8').catch(() => '');
    if (content.includes(text)) found.push(file);
  }
  return found;
}
