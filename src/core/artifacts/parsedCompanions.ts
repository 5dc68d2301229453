/**
 * Companions that name many files (a checksum list, a JSON-lines attestation file) are read
 * once for every file they name. Parsing a 32 MiB file 200 times takes minutes, so the last
 * few parses are kept, each tied to the file's identity (device, inode, size, change times):
 * any write makes the next read parse again.
 */
import { fileFingerprint, readLimited } from './artifact';

export class ParsedCompanions<T> {
  private readonly parsed = new Map<string, { readonly fingerprint: string; readonly value: Promise<T> }>();

  /** @param keep how many files' parses are kept (the most recently read). */
  constructor(
    private readonly parse: (text: string, path: string) => T,
    private readonly limit: number,
    private readonly keep = 4,
  ) {}

  /** The parse of the file as it is now; rejects as readLimited does. */
  async read(path: string): Promise<T> {
    const fingerprint = await fileFingerprint([path]);
    const known = this.parsed.get(path);
    if (known && known.fingerprint === fingerprint && fingerprint !== 'missing') {
      // Most recently used last: Map keeps insertion order.
      this.parsed.delete(path);
      this.parsed.set(path, known);
      return known.value;
    }
    const value = readLimited(path, this.limit).then((bytes) => this.parse(bytes.toString('utf8'), path));
    this.parsed.delete(path);
    this.parsed.set(path, { fingerprint, value });
    value.catch(() => this.parsed.get(path)?.value === value && this.parsed.delete(path));
    while (this.parsed.size > this.keep) this.parsed.delete(this.parsed.keys().next().value!);
    return value;
  }
}
