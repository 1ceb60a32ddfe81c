/**
 * Reads TwiML the way the fake Twilio needs to: a small XML reader for the verbs the examples
 * use (`<Connect><Stream>`, `<Say>`, `<Play>`, `<Pause>`, `<Dial>` with `<Number>`, `<Sip>`,
 * `<Conference>`, `<Hangup>`). Not a general XML parser: no DTDs, no CDATA, no namespaces.
 */

export type TwimlNode = { name: string; attributes: Record<string, string>; children: TwimlNode[]; text: string };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescape(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? whole;
  });
}

/** Parses a TwiML document into its `<Response>` element. Throws on text that is not TwiML. */
export function parseTwiml(xml: string): TwimlNode {
  const root: TwimlNode = { name: '#document', attributes: {}, children: [], text: '' };
  const stack: TwimlNode[] = [root];
  const tag =
    /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|<\?[^?]*\?>|<!--[\s\S]*?-->/g;
  let last = 0;
  for (let match = tag.exec(xml); match; match = tag.exec(xml)) {
    const text = xml.slice(last, match.index);
    if (text.trim().length > 0) stack.at(-1)!.text += unescape(text.trim());
    last = tag.lastIndex;
    const [, closing, name, attributeText, selfClosing] = match;
    if (name === undefined) continue; // a declaration or a comment
    if (closing) {
      const open = stack.pop();
      if (!open || open.name !== name || stack.length === 0) throw new Error(`TwiML: unexpected </${name}>`);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const a of (attributeText ?? '').matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      attributes[a[1]!] = unescape(a[2] ?? a[3] ?? '');
    }
    const node: TwimlNode = { name, attributes, children: [], text: '' };
    stack.at(-1)!.children.push(node);
    if (!selfClosing) stack.push(node);
  }
  if (stack.length !== 1) throw new Error(`TwiML: <${stack.at(-1)!.name}> is not closed`);
  const response = root.children[0];
  if (!response || response.name !== 'Response' || root.children.length !== 1)
    throw new Error('TwiML: the document must be one <Response> element');
  return response;
}

/** The `<Stream>` of a `<Connect>`: its URL and `<Parameter>`s. */
export function streamOf(verb: TwimlNode): { url: string; parameters: Record<string, string> } | undefined {
  const stream = verb.name === 'Connect' ? verb.children.find((c) => c.name === 'Stream') : undefined;
  const url = stream?.attributes['url'];
  if (!stream || !url) return undefined;
  const parameters: Record<string, string> = {};
  for (const p of stream.children) {
    const name = p.attributes['name'];
    if (p.name === 'Parameter' && name !== undefined) parameters[name] = p.attributes['value'] ?? '';
  }
  return { url, parameters };
}
