import { describe, expect, it } from 'vitest';
import { splitMatches } from './split-matches';

describe('splitMatches', () => {
  it('cuts around each match, ignoring case, and keeps the original spelling', () => {
    expect(splitMatches('Loss went down: loss=0.1', 'LOSS')).toEqual([
      { text: 'Loss', isMatch: true },
      { text: ' went down: ', isMatch: false },
      { text: 'loss', isMatch: true },
      { text: '=0.1', isMatch: false },
    ]);
  });

  it('keeps the text whole without a query or a match', () => {
    expect(splitMatches('epoch 1', '')).toEqual([{ text: 'epoch 1', isMatch: false }]);
    expect(splitMatches('epoch 1', 'xyz')).toEqual([{ text: 'epoch 1', isMatch: false }]);
  });

  it('does not overlap matches', () => {
    expect(splitMatches('aaa', 'aa').map((p) => p.text)).toEqual(['aa', 'a']);
  });
});
