/**
 * A small XML reader for comparing markup (TwiML, cXML, ...) by structure rather than as strings:
 * attribute order, quoting, self-closing tags, character references and the XML declaration do not
 * matter, element names, attributes, children and text do. Enough for documents that builders
 * write (elements, attributes, text, the five named entities and numeric references, comments, an
 * XML declaration); it throws on anything else, which in a test is a failure worth seeing.
 */

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  /** Child elements and non-blank text, in document order. */
  children: Array<XmlElement | string>;
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith('#x')) return String.fromCodePoint(parseInt(ref.slice(2), 16));
    if (ref.startsWith('#')) return String.fromCodePoint(parseInt(ref.slice(1), 10));
    const named = NAMED[ref];
    if (named === undefined) throw new Error(`unknown entity ${whole}`);
    return named;
  });
}

/**
 * Parses a document and returns its root element. As an XML parser does, line ends become `\n`
 * and, in attribute values, a literal tab or line end becomes a space (a character reference such
 * as `&#10;` keeps the character).
 */
export function parseXml(source: string): XmlElement {
  const xml = source.replace(/\r\n?/g, '\n');
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  const skipMisc = () => {
    for (;;) {
      if (xml.startsWith('<?', i)) {
        const end = xml.indexOf('?>', i);
        if (end === -1) throw new Error('unterminated processing instruction');
        i = end + 2;
      } else if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i);
        if (end === -1) throw new Error('unterminated comment');
        i = end + 3;
      } else return;
    }
  };

  while (i < xml.length) {
    skipMisc();
    if (i >= xml.length) break;
    if (xml[i] !== '<') {
      const next = xml.indexOf('<', i);
      const raw = xml.slice(i, next === -1 ? xml.length : next);
      i = next === -1 ? xml.length : next;
      const text = decodeEntities(raw);
      if (text.trim().length === 0) continue;
      const parent = stack[stack.length - 1];
      if (!parent) throw new Error(`text outside the root element: ${JSON.stringify(text.slice(0, 40))}`);
      const last = parent.children[parent.children.length - 1];
      if (typeof last === 'string') parent.children[parent.children.length - 1] = last + text;
      else parent.children.push(text);
      continue;
    }
    if (xml.startsWith('</', i)) {
      const match = /^<\/([A-Za-z_][\w.:-]*)\s*>/.exec(xml.slice(i));
      if (!match) throw new Error(`bad end tag at ${i}`);
      const open = stack.pop();
      if (!open || open.name !== match[1]) throw new Error(`</${match[1]}> closes <${open?.name ?? 'nothing'}>`);
      i += match[0].length;
      continue;
    }
    const match = /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(
      xml.slice(i),
    );
    if (!match) throw new Error(`bad start tag at ${i}: ${JSON.stringify(xml.slice(i, i + 40))}`);
    const element: XmlElement = { name: match[1]!, attributes: {}, children: [] };
    for (const attr of match[2]!.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      const name = attr[1]!;
      if (name in element.attributes) throw new Error(`attribute ${name} repeated`);
      element.attributes[name] = decodeEntities((attr[2] ?? attr[3] ?? '').replace(/[\t\n]/g, ' '));
    }
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else if (root) throw new Error('more than one root element');
    else root = element;
    if (match[3] !== '/') stack.push(element);
    i += match[0].length;
  }
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1]!.name}> is not closed`);
  if (!root) throw new Error('no root element');
  return root;
}
