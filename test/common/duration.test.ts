import t from 'tap';
import { formatDuration, parseDuration } from '../../common/duration.js';

t.test('parse', (t) => {
  const ok: [string, number][] = [['0', 0], ['250ms', 250], ['5s', 5000], ['1m30s', 90_000], ['1h', 3_600_000], ['1.5s', 1500], ['0.25ms', 0.25]];
  for (const [text, ms] of ok) t.equal(parseDuration(text), ms, text);
  for (const bad of ['', '5', 's', '5x', '5 s', '-1s', '1s5', 'ms5', '1.s']) t.equal(parseDuration(bad), undefined, JSON.stringify(bad));
  t.end();
});

t.test('format reads back', (t) => {
  for (const ms of [0, 250, 1000, 90_000, 3_600_000, 3_725_500]) t.equal(parseDuration(formatDuration(ms)), ms, formatDuration(ms));
  t.equal(formatDuration(90_000), '1m30s');
  t.end();
});
