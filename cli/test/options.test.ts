/** Command-line reading: task arguments as typed, negative numbers, options and their errors. */
import { describe, expect, it } from 'vitest';
import { UsageError, connectionOf, parseCommand, parseTaskArgument } from '../src/options.js';

describe('parseTaskArgument', () => {
  it('reads numbers as numbers, JSON as JSON, anything else as the string', () => {
    const typed = ['4', '-2.5', '1e3', '[1,2]', '{"x":[1]}', '"6"', 'true', 'null', 'hello', '4px', '007'];
    expect(typed.map((text, i) => parseTaskArgument(text, i + 1, 'run'))).toEqual([
      4,
      -2.5,
      1000,
      [1, 2],
      { x: [1] },
      '6',
      true,
      null,
      'hello',
      '4px',
      '007',
    ]);
  });

  it('names the argument that is broken JSON', () => {
    expect(() => parseTaskArgument('[1,', 2, 'run')).toThrow(/^argument 2 \(\[1,\) is not valid JSON/);
  });
});

describe('parseCommand', () => {
  it('keeps negative numbers as positionals and knows the global options', () => {
    const { values, positionals } = parseCommand('run', ['node', 'add', '-4', '-.5', '--json'], {});
    expect(positionals).toEqual(['node', 'add', '-4', '-.5']);
    expect(values.json).toBe(true);
  });

  it('an unknown option is a UsageError for the command', () => {
    const error = (() => {
      try {
        parseCommand('queues', ['--bogus'], {});
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ command: 'queues', message: expect.stringMatching(/Unknown option '--bogus'/) });
  });
});

describe('connectionOf', () => {
  it('takes --url and --api-key over the environment, which beats the default', () => {
    const env = { SWITCHYARD_URL: 'http://gateway:9000', SWITCHYARD_API_KEY: 'from-env' };
    expect(connectionOf({}, env)).toEqual({ url: 'http://gateway:9000', apiKey: 'from-env' });
    expect(connectionOf({ url: 'https://x', 'api-key': 'flag' }, env)).toEqual({ url: 'https://x', apiKey: 'flag' });
    expect(connectionOf({}, {})).toEqual({ url: 'http://127.0.0.1:9000', apiKey: undefined });
    expect(() => connectionOf({}, { SWITCHYARD_URL: 'not a url' })).toThrow(
      /^SWITCHYARD_URL must be the gateway's URL/,
    );
  });
});
