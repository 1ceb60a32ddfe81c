/**
 * `@switchboard/conformance/testing`: small helpers for the unit tests of a carrier adapter, next
 * to the conformance suite. Free of any test framework: a failed check throws a `node:assert`
 * `AssertionError`, table helpers return named cases for `it.each` or any loop, and the transport
 * rig takes the framework's `beforeEach`/`afterEach` as an argument.
 */
export { startFakeRest, type FakeRest, type FakeRestReply, type RecordedRequest } from './fake-rest.js';
export {
  expectProtocolError,
  malformedFrameCases,
  type MalformedFrame,
  type MalformedFrameCasesOptions,
  type ProtocolErrorExpectation,
} from './protocol-errors.js';
export {
  peerOpeningFrames,
  protocolCandidateCases,
  OTHER_CARRIER_FIRST_FRAMES,
  JUNK_FRAMES,
  type ProtocolCandidateCasesOptions,
} from './candidates.js';
export { openCarrierSocket, type CarrierSocketPair } from './sockets.js';
export {
  fuzzRandom,
  nextFuzzSeed,
  randomFuzzSeed,
  fuzzCorpus,
  fuzzFrame,
  fuzzSequence,
  type FuzzRandom,
  type FuzzCorpus,
  type FuzzCorpusOptions,
} from './fuzz-frames.js';
export {
  fuzzSeedFrames,
  callEventProblem,
  callEventsProblem,
  decodeProblem,
  fuzzSequenceFrames,
  runFuzz,
  type FuzzSeedCallOptions,
  type FuzzDecoder,
  type FuzzTarget,
  type FuzzRunOptions,
  type FuzzFailure,
  type FuzzReport,
} from './fuzz.js';
export {
  FakeCarrier,
  FakeRealtimeServer,
  ManualClock,
  TestProtocol,
  wire,
  tick,
  until,
  type ClientEvent,
} from './fakes.js';
export {
  useTransportRig,
  errorsOf,
  connectSession,
  type TestHooks,
  type TransportRig,
  type SeenEvent,
  type ConnectedSession,
} from './rig.js';
export { expectMaxPayloadHolds, frameBytes } from './max-payload.js';
