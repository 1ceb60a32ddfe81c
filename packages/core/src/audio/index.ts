export {
  ALAW_SILENCE,
  MULAW_SILENCE,
  aLawToLinear,
  decodeALaw,
  decodeMuLaw,
  encodeALaw,
  encodeMuLaw,
  linearToALaw,
  linearToMuLaw,
  muLawToLinear,
} from './g711.js';
export {
  bytesPerMs,
  bytesPerSample,
  concatBytes,
  durationMs,
  pcm16FromBytes,
  pcm16ToBytes,
  silence,
  silenceByte,
  swapBytes16,
} from './pcm.js';
export { base64Decode, base64Encode, base64UrlDecode, base64UrlEncode } from './base64.js';
export { Resampler, type ResamplerOptions, type ResamplerQuality } from './resampler.js';
export { Framer, type FramerRules } from './framer.js';
export { decodeWav, encodeWav } from './wav.js';
