// Just enough of the Dockerfile and .dockerignore grammars to replay a build
// without an engine: stages, their instructions, COPY, ENTRYPOINT and USER.
// Anything this does not understand is an error, not a guess.

export interface Instruction {
  readonly keyword: string;
  /** The arguments as written, continuation lines joined. */
  readonly args: string;
  /** 1-based line the instruction starts on. */
  readonly line: number;
}

export interface Stage {
  readonly name: string | undefined;
  readonly base: string;
  readonly index: number;
  readonly instructions: readonly Instruction[];
}

export interface Copy {
  /** Stage name (or index) of --from, undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly dest: string;
  readonly line: number;
}

/** Instructions grouped by FROM, with continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Stage[] {
  const stages: { name: string | undefined; base: string; index: number; instructions: Instruction[] }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let logical = lines[i]!;
    if (/^\s*(#|$)/.test(logical)) continue;
    while (/\\\s*$/.test(logical) && i + 1 < lines.length) {
      logical = logical.replace(/\\\s*$/, '');
      i++;
      // Comment lines inside a continuation are dropped, as Docker does.
      if (!/^\s*#/.test(lines[i]!)) logical += ` ${lines[i]!.trim()}`;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*?)\s*$/.exec(logical);
    if (!m) throw new Error(`line ${start}: not an instruction: ${logical}`);
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!;
    if (keyword === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`line ${start}: FROM ${args}: expected "FROM image [AS name]"`);
      stages.push({ name: f[2], base: f[1]!, index: stages.length, instructions: [] });
      continue;
    }
    const current = stages.at(-1);
    // ARG before the first FROM is global; nothing here needs it.
    if (!current) {
      if (keyword === 'ARG') continue;
      throw new Error(`line ${start}: ${keyword} before the first FROM`);
    }
    current.instructions.push({ keyword, args, line: start });
  }
  return stages;
}

export function stageNamed(stages: readonly Stage[], ref: string): Stage {
  const s = stages.find((x) => x.name === ref) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);
  if (!s) throw new Error(`no stage "${ref}" (stages: ${stages.map((x) => x.name ?? x.index).join(', ')})`);
  return s;
}

export function instructions(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** The stage's working directory after all its WORKDIRs ("/" if none). */
export function workdir(stage: Stage): string {
  let dir = '/';
  for (const w of instructions(stage, 'WORKDIR')) dir = w.args.startsWith('/') ? w.args : `${dir.replace(/\/$/, '')}/${w.args}`;
  return dir;
}

/** A COPY in shell form (`COPY [--from=x] src... dest`) or JSON form. */
export function parseCopy(i: Instruction): Copy {
  let rest = i.args;
  let from: string | undefined;
  for (;;) {
    const flag = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest);
    if (!flag) break;
    if (flag[1] === 'from') from = flag[2];
    else if (flag[1] !== 'link' && flag[1] !== 'chmod' && flag[1] !== 'chown') throw new Error(`line ${i.line}: COPY --${flag[1]} is not understood here`);
    rest = rest.slice(flag[0].length);
  }
  const words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  if (words.length < 2) throw new Error(`line ${i.line}: COPY ${i.args}: expected sources and a destination`);
  return { from, sources: words.slice(0, -1), dest: words.at(-1)!, line: i.line };
}

/** ENTRYPOINT in exec (JSON) form; shell form would need a shell the runtime image does not have. */
export function parseEntrypoint(stage: Stage): string[] {
  const e = instructions(stage, 'ENTRYPOINT').at(-1);
  if (!e) throw new Error('the runtime stage has no ENTRYPOINT');
  if (!e.args.startsWith('[')) throw new Error(`line ${e.line}: ENTRYPOINT ${e.args}: expected exec (JSON) form`);
  return JSON.parse(e.args) as string[];
}

/** The LABELs of a stage, `key="value"` pairs, quotes removed. */
export function labels(stage: Stage): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of instructions(stage, 'LABEL')) {
    for (const m of l.args.matchAll(/([\w.-]+)=(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)) out.set(m[1]!, m[2] ?? m[3]!);
  }
  return out;
}

/** Defaults of the stage's ARGs. */
export function argDefaults(stage: Stage): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of instructions(stage, 'ARG')) {
    const m = /^(\w+)(?:=(.*))?$/.exec(a.args);
    if (m?.[2] !== undefined) out.set(m[1]!, m[2].replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

/**
 * Whether .dockerignore leaves `path` (relative, "/"-separated) in the build
 * context. Docker's rules: the last matching pattern wins, "!" re-includes,
 * and a pattern matching a parent directory matches everything under it.
 */
export function inContext(dockerignore: string, path: string): boolean {
  const patterns = dockerignore
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const parts = path.split('/');
  let included = true;
  for (const p of patterns) {
    const negate = p.startsWith('!');
    const re = globRegExp((negate ? p.slice(1) : p).replace(/^\/+|\/+$/g, ''));
    for (let n = 1; n <= parts.length; n++) {
      if (re.test(parts.slice(0, n).join('/'))) {
        included = negate;
        break;
      }
    }
  }
  return included;
}

function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
