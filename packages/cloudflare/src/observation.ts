/**
 * How the conformance Worker hands what it observed to the Node side: JSON, with the values JSON
 * cannot carry (ArrayBuffers, byte arrays, errors) replaced by marked objects that
 * `reviveObservation` turns back into values. Worker-safe.
 */
import { base64Encode } from '@switchboard/core';

export const ARRAY_BUFFER_MARK = '__switchboard_arraybuffer';
export const BYTES_MARK = '__switchboard_bytes';
export const ERROR_MARK = '__switchboard_error';

/** JSON with ArrayBuffers, byte arrays and errors kept in a form the Node side revives. */
export function serialize(value: unknown): string {
  return JSON.stringify(value, (_key: string, item: unknown) => {
    if (item instanceof ArrayBuffer) return { [ARRAY_BUFFER_MARK]: base64Encode(new Uint8Array(item)) };
    if (ArrayBuffer.isView(item)) {
      return { [BYTES_MARK]: base64Encode(new Uint8Array(item.buffer, item.byteOffset, item.byteLength)) };
    }
    if (item instanceof Error) {
      const fields: Record<string, unknown> = {};
      for (const key of Object.keys(item)) fields[key] = (item as unknown as Record<string, unknown>)[key];
      return { [ERROR_MARK]: { ...fields, name: item.name, message: item.message } };
    }
    if (typeof item === 'bigint') return item.toString();
    return item;
  });
}
