import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../src/index.js';
import {
  EXCERPT_SCAN_CHARS,
  describeError,
  excerpt,
  readFrameObject,
  toProtocolError,
  type FailFrame,
} from '../src/protocol.js';

const fail: FailFrame = (message, frame) => {
  throw new ProtocolError('acme', message, { frame });
};

/** What `run` throws. */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('nothing was thrown');
}

const TEN_MB = 10 * 1024 * 1024;

describe('frame excerpts', () => {
  it('reads only the start of a huge text frame that is not JSON, and the decoder throws its ProtocolError', () => {
    const frame = `{"event":"media","media":{"payload":"${'A'.repeat(TEN_MB)}`;
    const error = thrown(() => readFrameObject(frame, fail));
    expect(error).toBeInstanceOf(ProtocolError);
    const text = (error as ProtocolError).frameExcerpt!;
    expect(text.length).toBeLessThan(300);
    expect(text.startsWith('{"event":"media","media":{"payload":"<')).toBe(true);
    expect(text).toContain(`+ chars>`);
    expect(text.endsWith(`(${frame.length} chars)`)).toBe(true);
  });

  it('keeps a huge frame of base64 characters bounded', () => {
    const text = excerpt('A'.repeat(TEN_MB));
    expect(text).toBe(`<${EXCERPT_SCAN_CHARS}+ chars>… (${TEN_MB} chars)`);
  });

  it('keeps a huge frame of text bounded', () => {
    const text = excerpt(`${'not json '.repeat(TEN_MB / 8)}`);
    expect(text.length).toBeLessThan(200);
    expect(text.startsWith('not json not json')).toBe(true);
  });

  it('elides base64 runs of 40 characters or more, and leaves short frames as they are', () => {
    const audio = 'f'.repeat(39) + '/';
    expect(excerpt(`{"payload":"${audio}","x":"short"}`)).toBe('{"payload":"<40 chars>","x":"short"}');
    expect(excerpt('{"event":"start"}')).toBe('{"event":"start"}');
    expect(excerpt(new Uint8Array(7))).toBe('<binary 7 bytes>');
  });

  it('never throws for values JSON.stringify and String() choke on', () => {
    const cyclic: Record<string, unknown> = { event: 'start' };
    cyclic['self'] = cyclic;
    const getter = Object.defineProperty({ a: 1 }, 'boom', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    const badToString = {
      toString: () => {
        throw new Error('toString');
      },
      toJSON: () => {
        throw new Error('toJSON');
      },
    };
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
        get() {
          throw new Error('trap');
        },
      },
    );
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const values: unknown[] = [
      cyclic,
      getter,
      badToString,
      proxy,
      deep,
      Object.create(null),
      12n,
      { big: 12n },
      Symbol('s'),
      () => 1,
      undefined,
      null,
      NaN,
    ];
    for (const value of values) {
      const text = excerpt(value);
      expect(typeof text).toBe('string');
      expect(text.length).toBeLessThan(300);
      expect(() => new ProtocolError('acme', 'bad', { frame: value })).not.toThrow();
    }
    expect(excerpt(cyclic)).toBe('{"event":"start","self":<cycle>}');
    expect(excerpt(getter)).toBe('{"a":1,"boom":<unreadable>}');
    expect(excerpt({ big: 12n })).toBe('{"big":12n}');
  });

  it('reads a huge parsed message only as far as the excerpt reaches', () => {
    const message = { event: 'media', items: Array.from({ length: 200_000 }, (_, i) => ({ i })) };
    const text = excerpt(message);
    expect(text.startsWith('{"event":"media","items":[{"i":0},{"i":1}')).toBe(true);
    expect(text.length).toBeLessThan(200);
  });
});

describe('describeError and toProtocolError', () => {
  it('describe anything thrown without throwing', () => {
    const badMessage = new Error('x');
    Object.defineProperty(badMessage, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    const badToString = {
      toString: () => {
        throw new Error('toString');
      },
    };
    for (const value of [Symbol('s'), badToString, badMessage, 12n, null, undefined, new Error('A'.repeat(TEN_MB))]) {
      const text = describeError(value);
      expect(typeof text).toBe('string');
      expect(text.length).toBeLessThan(300);
      const error = toProtocolError('acme', value, 'x'.repeat(TEN_MB));
      expect(error).toBeInstanceOf(ProtocolError);
      expect(error.provider).toBe('acme');
      expect(error.cause).toBe(value);
    }
    expect(describeError(new Error('it broke'))).toBe('it broke');
  });

  it("names what a WebSocket's error event says, whose fields are getters JSON leaves out", () => {
    class SocketErrorEvent {
      get type() {
        return 'error';
      }
      get message() {
        return 'connect ECONNREFUSED 127.0.0.1:1';
      }
      get error() {
        return new Error('connect ECONNREFUSED 127.0.0.1:1 (cause)');
      }
    }
    class BareEvent {
      get type() {
        return 'error';
      }
    }
    expect(describeError(new SocketErrorEvent())).toBe('connect ECONNREFUSED 127.0.0.1:1 (cause)');
    expect(describeError(new BareEvent())).toBe('error event');
    expect(describeError({ message: 'plain' })).toBe('plain');
    expect(describeError({ code: 7 })).toBe('{"code":7}');
  });

  it('passes a ProtocolError through', () => {
    const original = new ProtocolError('acme', 'bad frame');
    expect(toProtocolError('other', original, 'x')).toBe(original);
  });
});
