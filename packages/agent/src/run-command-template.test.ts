import { describe, expect, it } from 'vitest';
import type { HyperParams } from '@tasklane/protocol';
import { parseCommandTemplate, recordCommand, renderCommand } from './run-command-template.js';

/** The Args section as the server keeps it, from recorded (or edited) items. */
function argsSection(items: { name: string; value: string; type: string }[]): HyperParams {
  return { Args: Object.fromEntries(items.map((item) => [item.name, { section: 'Args', ...item }])) };
}

describe('recordCommand / renderCommand', () => {
  const words = ['-u', 'train.py', '--lr', '0.1', '--epochs=3', 'data.csv', '--verbose', '--no-cache', '--tag', 'a', '-n', '5', '--tag', 'b', 'out/', '--', '--raw'];

  it('records Args as parseArgv reads them, and rebuilds the command word for word', () => {
    const { template, args } = recordCommand(words, 1);
    expect(args).toEqual([
      { name: 'lr', value: '0.1', type: 'float' },
      { name: 'epochs', value: '3', type: 'int' },
      { name: 'verbose', value: 'true', type: 'bool' },
      { name: 'cache', value: 'false', type: 'bool' },
      { name: 'tag', value: '["a","b"]', type: 'list' },
      { name: 'n', value: '5', type: 'int' },
      { name: '_', value: '["data.csv","out/","--raw"]', type: 'list' },
    ]);
    expect(renderCommand(template, argsSection(args), 'train.py')).toEqual(words);
    // The template survives storage as JSON text.
    expect(parseCommandTemplate(JSON.stringify(template, null, 2))).toEqual(template);
  });

  it('applies edited values: options, flags, lists, positionals; deleted args go, added ones are appended before --', () => {
    const { template, args } = recordCommand(words, 1);
    const edited = args
      .filter((a) => a.name !== 'n')
      .map((a) =>
        a.name === 'lr' ? { ...a, value: '0.05' }
        : a.name === 'epochs' ? { ...a, value: '-1' }
        : a.name === 'verbose' ? { ...a, value: 'false' }
        : a.name === 'cache' ? { ...a, value: 'true' }
        : a.name === 'tag' ? { ...a, value: '["x","y","z"]' }
        : a.name === '_' ? { ...a, value: '["in.csv"]' }
        : a,
      );
    edited.push({ name: 'seed', value: '7', type: 'int' }, { name: 'fast', value: 'true', type: 'bool' });
    expect(renderCommand(template, argsSection(edited), 'src/train.py')).toEqual([
      '-u', 'src/train.py', '--lr', '0.05', '--epochs=-1', 'in.csv', '--tag', 'x', '--tag', 'y', '--tag', 'z', '--seed', '7', '--fast', '--',
    ]);
  });

  it('records a program without an entry script (all words are arguments)', () => {
    const { template, args } = recordCommand(['--size', '10', 'run'], undefined);
    expect(template.words).toEqual([{ option: '--size', arg: 'size', form: 'separate' }, { positional: 0 }]);
    expect(renderCommand(template, argsSection(args.map((a) => (a.name === 'size' ? { ...a, value: '20' } : a))), undefined)).toEqual(['--size', '20', 'run']);
  });

  it('refuses a template edited into something else, saying how to recover', () => {
    expect(() => parseCommandTemplate('{"words": 1}')).toThrowErrorMatchingInlineSnapshot(
      `[TasklaneError: the "Command" configuration of this task is not a tasklane run command template (expected {"version": 1, "words": [...]}); restore it from the task it was cloned from, or record the command again with tasklane run --queue]`,
    );
    expect(() => parseCommandTemplate('{"version": 1, "words": [{"what": 1}]}')).toThrow(/unknown word \{"what":1\}/);
  });
});
