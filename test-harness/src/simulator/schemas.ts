/**
 * Zod schemas for the client events of the OpenAI Realtime GA protocol, as the simulator
 * accepts them. Session fields are loose (the SDK spreads provider data into the payload and
 * the real API adds fields over time) but the audio formats are strict: a transport that
 * sends a legacy string format or an unsupported PCM rate must be caught here.
 */
import { z } from 'zod';

/** A GA audio format. PCM is 24 kHz only; G.711 is always 8 kHz. */
export const audioFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('audio/pcm'), rate: z.literal(24000).optional() }),
  z.strictObject({ type: z.literal('audio/pcmu') }),
  z.strictObject({ type: z.literal('audio/pcma') }),
]);

export type SimulatorAudioFormat =
  | { type: 'audio/pcm'; rate: 24000 }
  | { type: 'audio/pcmu' }
  | { type: 'audio/pcma' };

const nonNegativeInt = z.number().int().nonnegative();

export const turnDetectionSchema = z.looseObject({
  type: z.enum(['server_vad', 'semantic_vad']),
  create_response: z.boolean().optional(),
  interrupt_response: z.boolean().optional(),
  threshold: z.number().min(0).max(1).optional(),
  prefix_padding_ms: nonNegativeInt.optional(),
  silence_duration_ms: nonNegativeInt.optional(),
  idle_timeout_ms: nonNegativeInt.nullable().optional(),
  eagerness: z.enum(['low', 'medium', 'high', 'auto']).optional(),
});

const toolSchema = z.looseObject({
  type: z.string(),
  name: z.string().optional(),
  description: z.string().optional(),
  parameters: z.unknown().optional(),
});

export const sessionConfigSchema = z.looseObject({
  type: z.literal('realtime'),
  model: z.string().optional(),
  instructions: z.string().optional(),
  output_modalities: z.array(z.enum(['audio', 'text'])).optional(),
  audio: z
    .looseObject({
      input: z
        .looseObject({
          format: audioFormatSchema.optional(),
          noise_reduction: z
            .looseObject({ type: z.enum(['near_field', 'far_field']) })
            .nullable()
            .optional(),
          transcription: z.looseObject({}).nullable().optional(),
          turn_detection: turnDetectionSchema.nullable().optional(),
        })
        .optional(),
      output: z
        .looseObject({
          format: audioFormatSchema.optional(),
          voice: z.string().optional(),
          speed: z.number().min(0.25).max(1.5).optional(),
        })
        .optional(),
    })
    .optional(),
  tools: z.array(toolSchema).optional(),
  tool_choice: z.union([z.string(), z.looseObject({})]).optional(),
  tracing: z.union([z.literal('auto'), z.looseObject({}), z.null()]).optional(),
  max_output_tokens: z.union([z.number().int().positive(), z.literal('inf')]).optional(),
});

/**
 * Top-level session keys of the beta protocol. The GA API rejects them, so a transport that
 * still sends them would fail against the real service even if this simulator ignored them.
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

const eventId = z.string().optional();

const contentPartSchema = z.looseObject({
  type: z.enum(['input_text', 'input_audio', 'input_image', 'output_text', 'output_audio', 'text', 'audio', 'item_reference']),
});

const conversationItemSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('message'),
    id: z.string().optional(),
    role: z.enum(['user', 'assistant', 'system']),
    status: z.enum(['completed', 'incomplete', 'in_progress']).optional(),
    content: z.array(contentPartSchema),
  }),
  z.looseObject({
    type: z.literal('function_call'),
    id: z.string().optional(),
    call_id: z.string(),
    name: z.string(),
    arguments: z.string(),
  }),
  z.looseObject({
    type: z.literal('function_call_output'),
    id: z.string().optional(),
    call_id: z.string(),
    output: z.string(),
  }),
  z.looseObject({
    type: z.literal('mcp_approval_response'),
    id: z.string().optional(),
    approval_request_id: z.string(),
    approve: z.boolean(),
  }),
]);

export const clientEventSchemas = {
  'session.update': z.strictObject({
    type: z.literal('session.update'),
    event_id: eventId,
    session: sessionConfigSchema,
  }),
  'input_audio_buffer.append': z.strictObject({
    type: z.literal('input_audio_buffer.append'),
    event_id: eventId,
    audio: z.string(),
  }),
  'input_audio_buffer.commit': z.strictObject({ type: z.literal('input_audio_buffer.commit'), event_id: eventId }),
  'input_audio_buffer.clear': z.strictObject({ type: z.literal('input_audio_buffer.clear'), event_id: eventId }),
  'response.create': z.strictObject({
    type: z.literal('response.create'),
    event_id: eventId,
    response: z.looseObject({}).optional(),
  }),
  'response.cancel': z.strictObject({
    type: z.literal('response.cancel'),
    event_id: eventId,
    response_id: z.string().optional(),
  }),
  'conversation.item.create': z.strictObject({
    type: z.literal('conversation.item.create'),
    event_id: eventId,
    previous_item_id: z.string().nullable().optional(),
    item: conversationItemSchema,
  }),
  'conversation.item.truncate': z.strictObject({
    type: z.literal('conversation.item.truncate'),
    event_id: eventId,
    item_id: z.string(),
    content_index: nonNegativeInt,
    audio_end_ms: nonNegativeInt,
  }),
  'conversation.item.retrieve': z.strictObject({
    type: z.literal('conversation.item.retrieve'),
    event_id: eventId,
    item_id: z.string(),
  }),
  'conversation.item.delete': z.strictObject({
    type: z.literal('conversation.item.delete'),
    event_id: eventId,
    item_id: z.string(),
  }),
  'output_audio_buffer.clear': z.strictObject({
    type: z.literal('output_audio_buffer.clear'),
    event_id: eventId,
    response_id: z.string().optional(),
  }),
} as const;

export type ClientEventType = keyof typeof clientEventSchemas;
export type ClientEvent<T extends ClientEventType = ClientEventType> = z.infer<(typeof clientEventSchemas)[T]>;
export type SessionConfigInput = z.infer<typeof sessionConfigSchema>;

export function isClientEventType(type: string): type is ClientEventType {
  return Object.prototype.hasOwnProperty.call(clientEventSchemas, type);
}

/** A one-line, human-readable summary of a zod error. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Normalises a validated format (fills the implicit PCM rate). */
export function normaliseFormat(format: z.infer<typeof audioFormatSchema>): SimulatorAudioFormat {
  return format.type === 'audio/pcm' ? { type: 'audio/pcm', rate: 24000 } : { type: format.type };
}
