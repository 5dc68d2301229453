import { printable } from './text/printable';

/** A thrown value as one bounded line, class and message (for errors that are bugs, not bad input). */
export function internalErrorName(error: unknown): string {
  return error instanceof Error ? printable(`${error.name}: ${error.message}`, 160) : 'an unknown error';
}

/** A failure the user can act on: a stable code for tools, a message for people. */
export class SigstoreError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly remedy?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The trusted root (public-good or a configured file) could not be loaded. */
export class TrustedRootError extends SigstoreError {}

/** A file or companion could not be read within the limits we accept. */
export class ArtifactReadError extends SigstoreError {}
