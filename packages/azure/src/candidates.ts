/**
 * The ACS candidate for `detectMediaProtocol` (from `@switchboard/core`): one media route that
 * serves several carriers, told apart by their first frames. An ACS frame is a JSON object whose
 * `kind` names it and which carries the object of that name (`AudioMetadata` → `audioMetadata`);
 * no other carrier's frames have a `kind` field. The stream's first frame is `AudioMetadata`.
 *
 * The candidate builds a protocol without a `callConnectionId`: read it from the upgrade request
 * (`readAzureStreamHeaders`) and give it to `AzureMediaStreamProtocol` where the call id matters.
 */
import type { MediaFrame, ProtocolCandidate } from '@switchboard/core';
import { isJsonObject, parseJsonObjectFrame } from '@switchboard/core/protocol';
import { AzureMediaStreamProtocol } from './protocol.js';

/** The kinds ACS sends on an audio stream, and the field each carries its body in. */
const KINDS: Readonly<Record<string, string>> = Object.freeze({
  AudioMetadata: 'audioMetadata',
  AudioData: 'audioData',
  DtmfData: 'dtmfData',
});

export const azureCandidate: ProtocolCandidate = {
  name: 'azure',
  matches(frame: MediaFrame) {
    const value = parseJsonObjectFrame(frame);
    if (value === undefined) return false;
    const kind = value['kind'];
    if (typeof kind !== 'string' || !Object.hasOwn(KINDS, kind)) return false;
    return isJsonObject(value[KINDS[kind]!]);
  },
  create: () => new AzureMediaStreamProtocol(),
};
