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
    // Beyond the last item the model sent: its padding.
    expect(a.carrierPlays(20)).toBe('item_2');
  });

  it('keeps an item open while the model is still sending it, however small what is left', () => {
    const a = new OutputAttribution();
    a.modelSent('item_1', 7.25);
    a.modelSent('item_1', 0.375);
    expect(a.carrierPlays(7.25)).toBe('item_1');
    expect(a.carrierPlays(0.375)).toBe('item_1');
    a.modelSent('item_1', 131);
    expect(a.carrierPlays(131)).toBe('item_1');
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
  });

  it('expects nothing while no audio of a live item is pending', () => {
    const a = new OutputAttribution();
    expect(a.carrierPlays(20)).toBeUndefined();
    a.modelSent('item_1', 20);
    a.clear();
    expect(a.carrierPlays(20)).toBeUndefined();
  });
});
