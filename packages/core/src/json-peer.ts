/**
 * Checks a carrier simulator applies to the JSON frames the bridge sends it: exact field sets,
 * a `media` object holding only base64 audio, a `mark` object holding only a name, and the
 * stream id. Each check rejects a frame through the simulator's `reject`, which throws the
 * carrier's `ProtocolError` with its code.
 */
import { isJsonObject, type JsonObject } from './json.js';
import { decodeMediaPayload, type FailFrame } from './json-protocol.js';

/**
 * Requires `value` to hold every `required` field and nothing beyond `required` and `optional`.
 * `where` names the object in the error (`the frame`, `media`).
 */
export function checkExactKeys(
  value: JsonObject,
  required: readonly string[],
  optional: readonly string[],
  where: string,
  frame: unknown,
  reject: FailFrame,
): void {
  for (const key of Object.keys(value)) {
    if (!required.includes(key) && !optional.includes(key))
      reject(`unexpected field ${JSON.stringify(key.slice(0, 40))} in ${where}`, frame);
  }
  for (const key of required)
    if (!Object.hasOwn(value, key)) reject(`missing field ${JSON.stringify(key)} in ${where}`, frame);
}

/** The audio of an outbound `media` frame: `media` must be an object holding only `payload`, a base64 string. */
export function readOutboundMedia(message: JsonObject, frame: unknown, reject: FailFrame): Uint8Array {
  const media = message['media'];
  if (!isJsonObject(media)) reject('media is not an object', frame);
  checkExactKeys(media, ['payload'], [], 'media', frame, reject);
  const payload = media['payload'];
  if (typeof payload !== 'string') reject('media.payload is not a string', frame);
  return decodeMediaPayload(payload, frame, reject);
}

/**
 * The name of an outbound `mark` frame: `mark` must be an object holding only `name`, a string.
 * `nonEmpty` refuses an empty name too, for carriers that do.
 */
export function readOutboundMark(
  message: JsonObject,
  frame: unknown,
  reject: FailFrame,
  options: { nonEmpty: boolean },
): string {
  const mark = message['mark'];
  if (!isJsonObject(mark)) reject('mark is not an object', frame);
  checkExactKeys(mark, ['name'], [], 'mark', frame, reject);
  const name = mark['name'];
  if (options.nonEmpty) {
    if (typeof name !== 'string' || name.length === 0) reject('mark.name is not a non-empty string', frame);
  } else if (typeof name !== 'string') {
    reject('mark.name is not a string', frame);
  }
  return name;
}

/**
 * Requires the stream id in `field` to name the active stream. With `required: false` a frame
 * without the field passes.
 */
export function checkOutboundStreamId(
  message: JsonObject,
  field: string,
  activeId: string | undefined,
  frame: unknown,
  reject: FailFrame,
  options: { required: boolean } = { required: true },
): void {
  const id = message[field];
  if (id === undefined && !options.required) return;
  if (typeof id !== 'string') reject(`${field} is not a string`, frame);
  if (activeId === undefined) reject('no stream is active yet (no start was sent)', frame);
  if (id !== activeId) reject(`${field} does not match the active stream`, frame);
}

/** Rejects a frame whose `event` the carrier does not take from the bridge; `accepted` lists those it does. */
export function rejectOutboundEvent(event: unknown, accepted: string, frame: unknown, reject: FailFrame): never {
  reject(
    typeof event === 'string'
      ? `unsupported event ${JSON.stringify(event.slice(0, 40))} (only ${accepted})`
      : 'frame has no string "event" field',
    frame,
  );
}
