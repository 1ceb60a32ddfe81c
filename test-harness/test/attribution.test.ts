import { describe, expect, it } from 'vitest';
import { OutputAttribution } from '../src/replay.js';

describe('OutputAttribution', () => {
  it('gives the carrier’s chunks to the items in the order the model sent them, however late they play', () => {
    const a = new OutputAttribution();
    a.modelSent('item_1', 100);
    a.modelSent('item_1', 60);
    // The model moves on to item 2 while the paced bridge still holds most of item 1.
    a.modelSent('item_2', 50);
    expect([40, 40, 40].map((ms) => a.carrierPlays(ms))).toEqual(['item_1', 'item_1', 'item_1']);
    // Item 1's last 40 ms come padded to a 60 ms frame: the padding stays with item 1.
    expect(a.carrierPlays(60)).toBe('item_1');
    expect(a.carrierPlays(20)).toBe('item_2');
    expect(a.carrierPlays(30)).toBe('item_2');
    expect(a.carrierPlays(20)).toBeUndefined();
  });

  it('expects nothing more of an item the bridge cut, nor of any item once the carrier clears', () => {
    const a = new OutputAttribution();
    a.modelSent('item_1', 100);
    expect(a.carrierPlays(20)).toBe('item_1');
    a.cut(['item_1']);
    a.modelSent('item_1', 100); // a delta still in flight when the bridge cut the item
    a.modelSent('item_2', 40);
    expect(a.carrierPlays(20)).toBe('item_2');
    a.clear();
    a.modelSent('item_2', 40);
    a.modelSent('item_3', 20);
    expect(a.carrierPlays(20)).toBe('item_3');
    expect(a.carrierPlays(20)).toBeUndefined();
  });
});
