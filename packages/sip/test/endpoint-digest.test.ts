/**
 * Digest authentication's defaults against what user agents in the field answer: many support
 * only MD5 and refuse a whole 401 that carries a challenge they cannot answer (libre 1.1, under
 * baresip 1.0 as Debian 12 ships it, does; see interop/test/baresip-calls.test.ts for the real
 * one). SHA-256 stays available on request.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SipEndpoint } from '../src/index.js';
import { DigestAuthenticator } from '../src/endpoint/sip/digest.js';
import { parseSipMessage, type SipRequest } from '../src/endpoint/sip/message.js';
import { RawUa, msg, offer, request, token } from './sipp/raw-ua.js';

const REALM = 'switchboard.test';
const hash = (algorithm: 'MD5' | 'SHA-256', text: string) =>
  createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(text)
    .digest('hex');

type Challenge = { realm: string; nonce: string; algorithm: string; qop?: string };

function parseChallenge(value: string): Challenge {
  const param = (name: string) => new RegExp(`${name}="?([^",]+)"?`).exec(value)?.[1];
  return {
    realm: param('realm')!,
    nonce: param('nonce')!,
    algorithm: param('algorithm') ?? 'MD5',
    ...(param('qop') ? { qop: param('qop')! } : {}),
  };
}

function authorization(
  c: Challenge,
  algorithm: 'MD5' | 'SHA-256',
  method: string,
  uri: string,
  user: string,
  password: string,
): string {
  const ha1 = hash(algorithm, `${user}:${c.realm}:${password}`);
  const ha2 = hash(algorithm, `${method}:${uri}`);
  const cnonce = '1f2e3d4c5b6a7988';
  const response = hash(algorithm, `${ha1}:${c.nonce}:00000001:${cnonce}:auth:${ha2}`);
  return `Digest username="${user}", realm="${c.realm}", nonce="${c.nonce}", uri="${uri}", response="${response}", algorithm=${algorithm}, qop=auth, nc=00000001, cnonce="${cnonce}"`;
}

/**
 * An MD5-only client that reads every challenge of a 401 and gives up on the response when one
 * names another algorithm (what libre 1.1 does): its Authorization, or undefined when it gives up.
 */
function strictMd5Client(
  challenges: string[],
  method: string,
  uri: string,
  user: string,
  password: string,
): string | undefined {
  const parsed = challenges.map(parseChallenge);
  if (parsed.length === 0 || parsed.some((c) => c.algorithm.toUpperCase() !== 'MD5')) return undefined;
  return authorization(parsed[0]!, 'MD5', method, uri, user, password);
}

/** A client that answers the first challenge whose algorithm it knows (RFC 8760 §2.4). */
function preferringClient(
  challenges: string[],
  known: Array<'MD5' | 'SHA-256'>,
  method: string,
  uri: string,
  user: string,
  password: string,
): string | undefined {
  const c = challenges.map(parseChallenge).find((x) => (known as string[]).includes(x.algorithm.toUpperCase()));
  return c ? authorization(c, c.algorithm.toUpperCase() as 'MD5' | 'SHA-256', method, uri, user, password) : undefined;
}

function invite(authorizationValue?: string): SipRequest {
  const text = [
    'INVITE sip:agent@example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKdigest',
    'From: <sip:alice@example.com>;tag=1',
    'To: <sip:agent@example.com>',
    'Call-ID: digest-defaults',
    'CSeq: 2 INVITE',
    ...(authorizationValue ? [`Authorization: ${authorizationValue}`] : []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return parseSipMessage(new TextEncoder().encode(text)) as SipRequest;
}

const credentials = (user: string) => (user === 'alice' ? 'wonderland' : undefined);

describe('digest authentication defaults', () => {
  it('challenges with MD5 alone by default, which an MD5-only client that refuses unknown algorithms can answer', async () => {
    const auth = new DigestAuthenticator({ realm: REALM, credentials });
    expect(auth.algorithms).toEqual(['MD5']);
    const challenges = auth.challenge();
    expect(challenges).toHaveLength(1);
    expect(parseChallenge(challenges[0]!)).toMatchObject({ realm: REALM, algorithm: 'MD5', qop: 'auth' });
    const answer = strictMd5Client(challenges, 'INVITE', 'sip:agent@example.com', 'alice', 'wonderland');
    expect(answer).toBeDefined();
    expect(await auth.verify(invite(answer))).toEqual({ ok: true, username: 'alice' });
    // A SHA-256 answer is refused where SHA-256 was not offered.
    const sha = authorization(
      parseChallenge(auth.challenge()[0]!),
      'SHA-256',
      'INVITE',
      'sip:agent@example.com',
      'alice',
      'wonderland',
    );
    expect(await auth.verify(invite(sha))).toMatchObject({ ok: false, stale: false });
  });

  it('offers SHA-256 first when asked, and takes either answer (the strict MD5-only client gives up on that 401)', async () => {
    const auth = new DigestAuthenticator({ realm: REALM, algorithms: ['SHA-256', 'MD5'], credentials });
    const challenges = auth.challenge();
    expect(challenges.map((c) => parseChallenge(c).algorithm)).toEqual(['SHA-256', 'MD5']);
    const modern = preferringClient(
      challenges,
      ['SHA-256', 'MD5'],
      'INVITE',
      'sip:agent@example.com',
      'alice',
      'wonderland',
    );
    expect(modern).toContain('algorithm=SHA-256');
    expect(await auth.verify(invite(modern))).toEqual({ ok: true, username: 'alice' });
    const legacy = preferringClient(
      auth.challenge(),
      ['MD5'],
      'INVITE',
      'sip:agent@example.com',
      'alice',
      'wonderland',
    );
    expect(await auth.verify(invite(legacy))).toEqual({ ok: true, username: 'alice' });
    expect(strictMd5Client(auth.challenge(), 'INVITE', 'sip:agent@example.com', 'alice', 'wonderland')).toBeUndefined();
  });

  it("does not keep a reference to the caller's list", () => {
    const algorithms: Array<'MD5' | 'SHA-256'> = ['MD5'];
    const auth = new DigestAuthenticator({ realm: REALM, algorithms, credentials });
    algorithms.unshift('SHA-256');
    expect(auth.challenge()).toHaveLength(1);
  });
});

describe('SipEndpoint with digest authentication and its defaults', () => {
  let endpoint: SipEndpoint | undefined;
  let ua: RawUa | undefined;
  afterEach(async () => {
    ua?.close();
    await endpoint?.close();
  });

  it('sends one MD5 challenge, and lets a strict MD5-only caller in', async () => {
    const usernames: Array<string | undefined> = [];
    endpoint = new SipEndpoint({
      host: '127.0.0.1',
      port: 0,
      transports: ['udp'],
      auth: { realm: REALM, credentials },
      // Authenticated callers reach onInvite; busy, so no media is set up.
      onInvite: (inviteInfo) => {
        usernames.push(inviteInfo.username);
        return { status: 486 };
      },
    });
    await endpoint.listen();
    ua = await RawUa.open();
    const port = endpoint.port;
    const callId = token('digest-');
    const uri = `sip:agent@127.0.0.1:${port}`;
    const body = offer(ua, '0 101');
    ua.send(request({ method: 'INVITE', port, ua, callId, fromTag: 'f1', cseq: 1, body }), port);
    const challenge = msg(await ua.response(401, 'INVITE'));
    const values = challenge.headers.getAll('www-authenticate');
    expect(values).toHaveLength(1);
    ua.send(
      request({
        method: 'ACK',
        port,
        ua,
        callId,
        fromTag: 'f1',
        toTag: /tag=([^;>\s]+)/.exec(challenge.headers.get('to') ?? '')?.[1],
        cseq: 1,
      }),
      port,
    );

    const answer = strictMd5Client(values, 'INVITE', uri, 'alice', 'wonderland');
    expect(answer).toBeDefined();
    ua.send(
      request({
        method: 'INVITE',
        port,
        ua,
        callId,
        fromTag: 'f1',
        cseq: 2,
        body,
        headers: [`Authorization: ${answer!}`],
      }),
      port,
    );
    await ua.response(486, 'INVITE');
    expect(usernames).toEqual(['alice']);
    expect(endpoint.counters.challenges).toBe(1);
  });
});
