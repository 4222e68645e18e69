// How the CNI collector keeps every string and list it reports within the
// bounds of common/cni.ts, and how it names sizes in messages.
import { CNI_LIMITS } from '../../common/cni.js';

/** Cuts a string to CNI_LIMITS.textBytes of UTF-8, marking the cut. */
export function boundedText(s: string, maxBytes: number = CNI_LIMITS.textBytes): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  const buf = Buffer.from(s).subarray(0, maxBytes - 3);
  // A cut inside a multi-byte character decodes to U+FFFD; drop it.
  return `${buf.toString('utf8').replace(/\uFFFD+$/, '')}…`;
}

/** "5 MiB", "1.5 KiB", "12 bytes": for messages, not for numbers that are compared. */
export function formatBytes(n: number): string {
  const units: [number, string][] = [
    [1024 ** 3, 'GiB'],
    [1024 ** 2, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [size, unit] of units) {
    if (n >= size) {
      const v = n / size;
      return `${Number.isInteger(v) ? v : v.toFixed(1)} ${unit}`;
    }
  }
  return n === 1 ? '1 byte' : `${n} bytes`;
}

/**
 * Keeps at most `max` problems; when more came, the last kept line says how many
 * were left out, so a reader knows the list is cut.
 */
export function boundedErrors(errors: readonly string[], max: number = CNI_LIMITS.errors): string[] {
  const texts = errors.map((e) => boundedText(e));
  if (texts.length <= max) return texts;
  return [...texts.slice(0, max - 1), `${texts.length - (max - 1)} more problems not shown`];
}
