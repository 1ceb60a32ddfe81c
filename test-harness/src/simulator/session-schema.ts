/**
 * The session configuration a `session.update` may carry, as the Realtime GA API accepts it.
 *
 * Written from OpenAI's published OpenAPI description (RealtimeSessionCreateRequestGA,
 * RealtimeTurnDetection, RealtimeAudioFormats, VoiceIdsOrCustomVoice) and the `openai` SDK's
 * realtime types (openai 7.57, `RealtimeSessionCreateRequest`). Objects are strict: the service
 * answers an unknown or misplaced field with `unknown_parameter`, so a transport that sends one
 * must fail here too. Where the two sources differ, both readings are accepted (noise reduction's
 * `strength` is in the SDK only).
 */
import { z } from 'zod';

/** A GA audio format. PCM is 24 kHz only; G.711 is always 8 kHz. */
export const audioFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('audio/pcm'), rate: z.literal(24000).optional() }),
  z.strictObject({ type: z.literal('audio/pcmu') }),
  z.strictObject({ type: z.literal('audio/pcma') }),
]);

export type SimulatorAudioFormat = { type: 'audio/pcm'; rate: 24000 } | { type: 'audio/pcmu' } | { type: 'audio/pcma' };

/** The built-in voices the GA API names. */
export const BUILT_IN_VOICES = [
  'alloy',
  'ash',
  'ballad',
  'coral',
  'echo',
  'sage',
  'shimmer',
  'verse',
  'marin',
  'cedar',
] as const;

/** Bounds of `idle_timeout_ms` (server VAD only), in ms. */
export const IDLE_TIMEOUT_MS = { min: 5000, max: 30000 } as const;
/** Bounds of `audio.output.speed`. */
export const SPEED_RANGE = { min: 0.25, max: 1.5 } as const;
/** Bounds of an integer `max_output_tokens`. */
export const MAX_OUTPUT_TOKENS = { min: 1, max: 4096 } as const;

const nonNegativeInt = z.number().int().nonnegative();
const createResponse = z.boolean().optional();
const interruptResponse = z.boolean().optional();

/** `server_vad`: energy detection with tunable threshold, padding, silence and idle timeout. */
export const serverVadSchema = z.strictObject({
  type: z.literal('server_vad'),
  threshold: z.number().min(0).max(1).optional(),
  prefix_padding_ms: nonNegativeInt.optional(),
  silence_duration_ms: nonNegativeInt.optional(),
  create_response: createResponse,
  interrupt_response: interruptResponse,
  idle_timeout_ms: z.number().int().min(IDLE_TIMEOUT_MS.min).max(IDLE_TIMEOUT_MS.max).nullable().optional(),
});

/** `semantic_vad`: a model decides the end of the turn; only its eagerness is tunable. */
export const semanticVadSchema = z.strictObject({
  type: z.literal('semantic_vad'),
  eagerness: z.enum(['low', 'medium', 'high', 'auto']).optional(),
  create_response: createResponse,
  interrupt_response: interruptResponse,
});

export const turnDetectionSchema = z.discriminatedUnion('type', [serverVadSchema, semanticVadSchema]);

export const transcriptionSchema = z.strictObject({
  model: z.string().min(1).optional(),
  language: z.string().optional(),
  prompt: z.string().optional(),
  delay: z.enum(['minimal', 'low', 'medium', 'high', 'xhigh']).optional(),
  keywords: z.array(z.string()).optional(),
  languages: z.array(z.string()).optional(),
});

const noiseReductionSchema = z.strictObject({
  type: z.enum(['near_field', 'far_field']).optional(),
  strength: z.number().nonnegative().optional(),
});

/** A built-in voice name, a custom voice id given as a string, or `{ id }` of a custom voice. */
export const voiceSchema = z.union([
  z.enum(BUILT_IN_VOICES),
  z.string().regex(/^voice_[A-Za-z0-9_-]+$/, 'expected a built-in voice name or a custom voice id (voice_…)'),
  z.strictObject({ id: z.string().min(1) }),
]);

const audioInputSchema = z.strictObject({
  format: audioFormatSchema.optional(),
  transcription: transcriptionSchema.nullable().optional(),
  noise_reduction: noiseReductionSchema.nullable().optional(),
  turn_detection: turnDetectionSchema.nullable().optional(),
});

const audioOutputSchema = z.strictObject({
  format: audioFormatSchema.optional(),
  voice: voiceSchema.optional(),
  speed: z.number().min(SPEED_RANGE.min).max(SPEED_RANGE.max).optional(),
});

const functionToolSchema = z.strictObject({
  type: z.literal('function').optional(),
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  parameters: z.unknown().optional(),
});

/** MCP tools carry many server-specific fields; only their identity is checked. */
const mcpToolSchema = z.looseObject({ type: z.literal('mcp'), server_label: z.string().min(1) });

const toolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.strictObject({ type: z.literal('function'), name: z.string().min(1) }),
  z.strictObject({ type: z.literal('mcp'), server_label: z.string().min(1), name: z.string().nullable().optional() }),
]);

const tracingSchema = z.union([
  z.literal('auto'),
  z.strictObject({
    workflow_name: z.string().optional(),
    group_id: z.string().optional(),
    metadata: z.unknown().optional(),
  }),
  z.null(),
]);

const truncationSchema = z.union([
  z.enum(['auto', 'disabled']),
  z.strictObject({
    type: z.literal('retention_ratio'),
    retention_ratio: z.number().min(0).max(1),
    token_limits: z.strictObject({ post_instructions: nonNegativeInt.optional() }).optional(),
  }),
]);

const promptSchema = z
  .strictObject({
    id: z.string().min(1),
    version: z.string().nullable().optional(),
    variables: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .nullable();

/** `session` of a `session.update` (a realtime session; transcription sessions are not simulated). */
export const sessionConfigSchema = z.strictObject({
  type: z.literal('realtime'),
  model: z.string().min(1).optional(),
  instructions: z.string().optional(),
  output_modalities: z
    .array(z.enum(['audio', 'text']))
    .length(1, 'exactly one of "audio" or "text": both at once is not possible')
    .optional(),
  audio: z.strictObject({ input: audioInputSchema.optional(), output: audioOutputSchema.optional() }).optional(),
  include: z.array(z.literal('item.input_audio_transcription.logprobs')).optional(),
  tracing: tracingSchema.optional(),
  tools: z.array(z.union([functionToolSchema, mcpToolSchema])).optional(),
  tool_choice: toolChoiceSchema.optional(),
  parallel_tool_calls: z.boolean().optional(),
  reasoning: z.strictObject({ effort: z.enum(['minimal', 'low', 'medium', 'high', 'xhigh']).optional() }).optional(),
  max_output_tokens: z
    .union([z.number().int().min(MAX_OUTPUT_TOKENS.min).max(MAX_OUTPUT_TOKENS.max), z.literal('inf')])
    .optional(),
  truncation: truncationSchema.optional(),
  prompt: promptSchema.optional(),
});

export type SessionConfigInput = z.infer<typeof sessionConfigSchema>;

/**
 * Top-level session keys of the beta protocol. The GA API rejects them; they are named apart so
 * that the error says which protocol the client speaks.
 */
export const LEGACY_SESSION_KEYS = [
  'modalities',
  'input_audio_format',
  'output_audio_format',
  'input_audio_transcription',
  'input_audio_noise_reduction',
  'turn_detection',
  'voice',
  'speed',
] as const;

/** Normalises a validated format (fills the implicit PCM rate). */
export function normaliseFormat(format: z.infer<typeof audioFormatSchema>): SimulatorAudioFormat {
  return format.type === 'audio/pcm' ? { type: 'audio/pcm', rate: 24000 } : { type: format.type };
}
