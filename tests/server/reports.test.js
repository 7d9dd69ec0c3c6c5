// The holdout comparison's interval for the difference of two conversion
// rates: Newcombe's hybrid score interval, checked against the values
// Newcombe published (Statistics in Medicine 17:873, 1998, Table II, method 10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareRates, differenceInterval } from '../../server/reports.js';

const close = (actual, expected, what) => assert.ok(Math.abs(actual - expected) < 5e-5, `${what}: ${actual} is not ${expected}`);

test('the difference interval matches Newcombe\'s published values, zero counts included', () => {
  for (const [a, b, low, high] of [
    [[56, 70], [48, 80], 0.0524, 0.3339],
    [[9, 10], [3, 10], 0.1705, 0.8090],
    [[6, 7], [2, 7], 0.0582, 0.8062],
    [[5, 56], [0, 29], -0.0381, 0.1926],
    [[0, 10], [0, 20], -0.1611, 0.2775],
    [[0, 10], [0, 10], -0.2775, 0.2775],
  ]) {
    const d = differenceInterval({ conversions: a[0], n: a[1] }, { conversions: b[0], n: b[1] });
    const name = `${a.join('/')} - ${b.join('/')}`;
    close(d.value, a[0] / a[1] - b[0] / b[1], `${name} value`);
    close(d.low, low, `${name} low`);
    close(d.high, high, `${name} high`);
  }
});

test('a holdout of 0 of 3 against 10 of 37 is inconclusive: the interval includes zero', () => {
  const c = compareRates({ n: 37, conversions: 10 }, { n: 3, conversions: 0 });
  assert.equal(c.treatment.rate, 10 / 37);
  assert.equal(c.holdout.rate, 0);
  close(c.difference.value, 10 / 37, 'value');
  assert.ok(c.difference.low < 0 && c.difference.high > 0, JSON.stringify(c.difference));
  close(c.difference.low, -0.3031, 'low');
  close(c.difference.high, 0.4298, 'high');
  assert.equal(c.lift, null, 'no relative lift without a conversion in the holdout');
});

test('a group without instances has no comparison yet', () => {
  const c = compareRates({ n: 5, conversions: 1 }, { n: 0, conversions: 0 });
  assert.equal(c.difference, null);
  assert.equal(c.lift, null);
  assert.equal(c.holdout.rate, null);
});
