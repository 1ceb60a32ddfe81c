import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { splitOptions, withCallControlHangUp } from '../src/carrier-options.js';

describe('splitOptions', () => {
  it('picks the defined options under the keys and leaves the others', () => {
    const options = { frameMs: 20, leadMs: undefined, track: 'inbound', model: 'm', hangUp: undefined };
    const { picked, rest } = splitOptions(options, ['frameMs', 'leadMs', 'track']);
    expect(picked).toEqual({ frameMs: 20, track: 'inbound' });
    expect('leadMs' in picked).toBe(false);
    expect(rest).toEqual({ model: 'm', hangUp: undefined });
    expect(Object.keys(rest)).toEqual(['model', 'hangUp']);
    expect(options.frameMs).toBe(20);
  });
});

describe('withCallControlHangUp', () => {
  type Options = { model?: string; hangUp?: (call: { callId?: string }) => unknown };
  const control = () => {
    const calls: string[] = [];
    return { calls, hangup: async (id: string) => void calls.push(id) };
  };

  it('hangs up the call through the control, and not without a call id', async () => {
    const cc = control();
    const options = withCallControlHangUp<Options, 'hangup', typeof cc>({ model: 'm' }, cc, 'hangup');
    expect(options.model).toBe('m');
    await options.hangUp?.({ callId: 'CA1' } as never);
    await options.hangUp?.({} as never);
    expect(cc.calls).toEqual(['CA1']);
  });

  it('keeps a given hangUp and returns the options untouched without a control', () => {
    const hangUp = () => undefined;
    const given = { hangUp };
    expect(withCallControlHangUp(given, control(), 'hangup')).toBe(given);
    const none: Options = { model: 'm' };
    expect(withCallControlHangUp(none, undefined, 'hangup')).toBe(none);
  });

  it('refuses a control without the method when told how, even beside a hangUp', () => {
    const bogus = { hangUp: () => undefined } as unknown as { hangup: (id: string) => unknown };
    expect(() => withCallControlHangUp({}, bogus, 'hangup', 'bad control')).toThrow(ConfigError);
    expect(() => withCallControlHangUp({ hangUp: () => 1 }, null as never, 'hangup', 'bad control')).toThrow(
      'bad control',
    );
    expect(withCallControlHangUp({} as Options, bogus, 'hangup').hangUp).toBeTypeOf('function');
  });
});
