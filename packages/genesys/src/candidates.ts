/**
 * The Genesys candidate for `detectMediaProtocol` (from `@switchboard/core`): one media route that
 * serves several carriers, told apart by their first frames. Genesys's first frame is always
 * `open`: `{"version":"2","type":"open","seq":1,"serverseq":0,"position":…,"id":…,"parameters":{…}}`.
 * The generic raw WebSocket preset's `{"type":"start"}` and every carrier's `event`-keyed frames
 * differ; the AudioHook version and the client's `serverseq` make it unmistakable.
 */
import type { MediaFrame, ProtocolCandidate } from '@switchboard/core';
import { isJsonObject, parseJsonObjectFrame } from '@switchboard/core/protocol';
import { GenesysAudioHookProtocol } from './protocol.js';

export const genesysCandidate: ProtocolCandidate = {
  name: 'genesys',
  matches(frame: MediaFrame) {
    const value = parseJsonObjectFrame(frame);
    if (value === undefined) return false;
    return (
      value['version'] === '2' &&
      value['type'] === 'open' &&
      typeof value['id'] === 'string' &&
      typeof value['serverseq'] === 'number' &&
      isJsonObject(value['parameters'])
    );
  },
  create: () => new GenesysAudioHookProtocol(),
};
