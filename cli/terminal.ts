// What the terminal sees: whether to colour, the ANSI codes, and keeping text
// that came from the network from driving the terminal.

/** Colour only for a person at a terminal: not in pipes, not with NO_COLOR (no-color.org), not on a dumb terminal. */
export function useColor(isTTY: boolean, env: Readonly<Record<string, string | undefined>>, noColorFlag: boolean): boolean {
  return isTTY && !noColorFlag && !env.NO_COLOR && env.TERM !== 'dumb';
}

export type Style = 'green' | 'yellow' | 'red' | 'grey' | 'bold';
const SGR: Record<Style, string> = { green: '32', yellow: '33', red: '31', grey: '90', bold: '1' };

export function paint(text: string, style: Style, color: boolean): string {
  return color ? `\x1b[${SGR[style]}m${text}\x1b[0m` : text;
}

/**
 * Replaces control characters (C0, DEL, C1) with "?". Names, versions and
 * messages come from a server; an escape sequence in one must not recolour,
 * move the cursor or retitle the reader's terminal.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}
