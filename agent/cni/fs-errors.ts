// One wording for the filesystem errors the CNI collector meets, so a file, a
// binary and a directory that fail for the same reason read the same.

/** The errno code of a Node fs error, or undefined for anything else. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

const WORDS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'symlink loop',
  ENOENT: 'does not exist',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'is a directory',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  EIO: 'I/O error',
  ENAMETOOLONG: 'name too long',
};

/** "permission denied", "symlink loop", … or the code and message for anything rarer. */
export function describeFsError(err: unknown): string {
  const code = errnoCode(err);
  if (code !== undefined && WORDS[code] !== undefined) return WORDS[code];
  const message = err instanceof Error ? err.message : String(err);
  return code !== undefined ? `${code}: ${message}` : message;
}
