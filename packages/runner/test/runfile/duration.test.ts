import { describe, expect, it } from 'vitest';
import { KitError } from '@modelkit/core';
import { parseDuration } from '../../src/runfile/index.js';

describe('parseDuration: dstack durations in milliseconds', () => {
  it.each<[string | number, number]>([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    ['2 h', 7_200_000],
    [' 45m ', 2_700_000],
    ['7200', 7_200_000],
    [7200, 7_200_000],
    [1, 1000],
  ])('%j', (text, ms) => {
    expect(parseDuration(text, 'max_duration')).toBe(ms);
  });

  it.each<[string | number, string]>([
    ['1h30m', 'max_duration: "1h30m" is not a duration; dstack durations take one unit; write 90m'],
    ['1d12h', 'write 36h'],
    ['1m30s', 'write 90s'],
    ['2H', 'max_duration: "2H" is not a duration; units are lower case; write 2h'],
    ['soon', 'max_duration: "soon" is not a duration; write a whole number with s, m, h, d or w (90s, 30m, 2h, 1d), or plain seconds'],
    ['1.5h', '"1.5h" is not a duration'],
    ['-5m', '"-5m" is not a duration'],
    ['', '"" is not a duration'],
    ['0', 'max_duration: "0" is no time at all; a duration must be longer than 0'],
    ['0s', '"0s" is no time at all'],
    [0, '"0" is no time at all'],
    [1.5, 'max_duration: 1.5 is not a whole number of seconds'],
    [-3, '-3 is not a whole number of seconds'],
    ['99999999999999999999w', 'is too long to be a duration'],
  ])('%j is refused', (text, message) => {
    try {
      parseDuration(text, 'max_duration');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(KitError);
      expect((e as KitError).code).toBe('INVALID_ARGUMENT');
      expect((e as KitError).message).toContain(message);
    }
  });
});
