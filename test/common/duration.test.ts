// Durations as operators write them ("250ms", "5s", "1m30s"): every unit,
// compound forms, what is refused, and that format and parse round-trip.
import t from 'tap';
import { formatDuration, parseDuration } from '../../common/duration.js';

t.test('parses single units into milliseconds', async (t) => {
  const cases: [string, number][] = [
    ['250ms', 250],
    ['5s', 5_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['0s', 0],
    ['0ms', 0],
    ['0', 0],
    ['1.5s', 1_500],
    ['0.25h', 900_000],
    ['1ms', 1],
  ];
  for (const [text, ms] of cases) t.equal(parseDuration(text), ms, text);
});

t.test('parses compound durations, summing every part', async (t) => {
  t.equal(parseDuration('1m30s'), 90_000);
  t.equal(parseDuration('1h2m3s4ms'), 3_723_004);
  t.equal(parseDuration('5m5s'), 305_000, '"m" followed by a number is minutes, not the start of "ms"');
  t.equal(parseDuration('1s500ms'), 1_500);
  t.equal(parseDuration('30s1m'), 90_000, 'parts in any order, as Go allows');
});

t.test('rejects what is not a duration', async (t) => {
  for (const bad of ['', '5', '5x', 's', 'ms', '-5s', '+5s', ' 5s', '5s ', '5 s', '5S', '1d', '1.s', '.5s', '5s5', '1e3s', 'Infinity', 'NaN', '5sms', '0x10s', '00', '1,5s']) {
    t.equal(parseDuration(bad), undefined, JSON.stringify(bad));
  }
});

t.test('a failed parse does not affect the next one', async (t) => {
  // The parser reuses one sticky regex: its position must be reset each time.
  t.equal(parseDuration('5x'), undefined);
  t.equal(parseDuration('1m30s'), 90_000);
  t.equal(parseDuration('1m3'), undefined);
  t.equal(parseDuration('7s'), 7_000);
});

t.test('formats milliseconds with the largest units first', async (t) => {
  const cases: [number, string][] = [
    [0, '0s'],
    [1, '1ms'],
    [250, '250ms'],
    [1_000, '1s'],
    [1_500, '1s500ms'],
    [60_000, '1m'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [3_723_004, '1h2m3s4ms'],
    [86_400_000, '24h'],
    [7_200_001, '2h1ms'],
    [249.6, '250ms'],
  ];
  for (const [ms, text] of cases) t.equal(formatDuration(ms), text, String(ms));
});

t.test('formatDuration output parses back to the same value', async (t) => {
  const values = [0, 1, 9, 10, 99, 100, 999, 1_000, 1_001, 59_999, 60_000, 61_000, 3_599_999, 3_600_000, 3_600_001, 86_400_000, 604_800_000];
  for (let x = 7; x < 10_000_000; x = Math.floor(x * 3.7) + 13) values.push(x);
  for (const ms of values) t.equal(parseDuration(formatDuration(ms)), ms, `${ms} → ${formatDuration(ms)}`);
});

t.test('parsed text formats to a canonical form that parses back', async (t) => {
  for (const text of ['90s', '1m30s', '1500ms', '0.5s', '2h', '120m', '0']) {
    const ms = parseDuration(text)!;
    t.equal(parseDuration(formatDuration(ms)), ms, text);
  }
  t.equal(formatDuration(parseDuration('90s')!), '1m30s');
  t.equal(formatDuration(parseDuration('1500ms')!), '1s500ms');
  t.equal(formatDuration(parseDuration('120m')!), '2h');
});
