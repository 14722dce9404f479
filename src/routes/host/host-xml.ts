/**
 * The host API's flat XML (SPEC §4.5), as Android's XmlSerializer writes it: an optional declaration,
 * one root element, one child element per field holding text only. Strict on purpose: no DOCTYPE (no
 * entity expansion, no XXE), no attributes, no nesting, no repeated fields. CDATA sections are read (other
 * WeChat-style senders use them) but never written.
 */

export class HostXmlError extends Error {
  override name = 'HostXmlError';
}

const namePattern = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const maxFields = 64;

function decodeText(text: string): string {
  return text.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);|&/g, (match, entity: string | undefined) => {
    if (entity === undefined) throw new HostXmlError('Unescaped "&" in a field');
    switch (entity) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
    }
    const code = entity.startsWith('#x') ? Number.parseInt(entity.slice(2), 16) : Number.parseInt(entity.slice(1), 10);
    if (!Number.isInteger(code) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) || code === 0)
      throw new HostXmlError(`Bad character reference ${match}`);
    return String.fromCodePoint(code);
  });
}

/** Parses `<xml><a>1</a><b/></xml>` (any root name) into `{a: '1', b: ''}`. */
export function parseHostXml(input: string): Record<string, string> {
  let rest = input.replace(/^\uFEFF/, '').trimStart();
  const declaration = /^<\?xml\s[^?]*\?>/.exec(rest);
  if (declaration) rest = rest.slice(declaration[0].length).trimStart();
  if (rest.startsWith('<!')) throw new HostXmlError('DOCTYPE and comments are not accepted');
  const open = /^<([A-Za-z_][A-Za-z0-9_.-]*)\s*>/.exec(rest);
  if (!open) throw new HostXmlError('The body is not an XML document with one root element');
  const root = open[1]!;
  rest = rest.slice(open[0].length);
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  for (;;) {
    rest = rest.trimStart();
    if (rest.startsWith(`</${root}`)) {
      const close = new RegExp(`^</${root.replace(/\./g, '\\.')}\\s*>`).exec(rest);
      if (!close) throw new HostXmlError(`Malformed </${root}>`);
      if (rest.slice(close[0].length).trim() !== '') throw new HostXmlError('Content after the root element');
      return { ...fields };
    }
    const element = /^<([A-Za-z_][A-Za-z0-9_.-]*)\s*(\/?)>/.exec(rest);
    if (!element) throw new HostXmlError('Expected a field element (no attributes, comments or text between fields)');
    const name = element[1]!;
    if (!namePattern.test(name)) throw new HostXmlError(`Bad field name ${name}`);
    if (name in fields) throw new HostXmlError(`The field ${name} appears twice`);
    if ((count += 1) > maxFields) throw new HostXmlError('Too many fields');
    rest = rest.slice(element[0].length);
    if (element[2] === '/') {
      fields[name] = '';
      continue;
    }
    let value = '';
    for (;;) {
      if (rest.startsWith('<![CDATA[')) {
        const end = rest.indexOf(']]>');
        if (end < 0) throw new HostXmlError('Unterminated CDATA section');
        value += rest.slice('<![CDATA['.length, end);
        rest = rest.slice(end + 3);
        continue;
      }
      const next = rest.indexOf('<');
      if (next < 0) throw new HostXmlError(`Unterminated field ${name}`);
      if (next > 0) {
        value += decodeText(rest.slice(0, next));
        rest = rest.slice(next);
        continue;
      }
      break;
    }
    const close = new RegExp(`^</${name.replace(/\./g, '\\.')}\\s*>`).exec(rest);
    if (!close) throw new HostXmlError(`Expected </${name}> (fields hold text only)`);
    rest = rest.slice(close[0].length);
    fields[name] = value;
  }
}

function escapeText(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach the XML
  return value.replace(/[&<>"'\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, (char) => {
    switch (char) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        // Control characters are not allowed in XML 1.0 at all, not even as references: drop them.
        return '';
    }
  });
}

/** Writes `{a: '1'}` as `<xml><a>1</a></xml>`, fields in the given order, text escaped, no CDATA. */
export function buildHostXml(fields: Record<string, string | number | null | undefined>): string {
  let xml = '<xml>';
  for (const [name, value] of Object.entries(fields)) {
    if (value === null || value === undefined) continue;
    if (!namePattern.test(name)) throw new Error(`Bad XML field name ${name}`);
    xml += `<${name}>${escapeText(String(value))}</${name}>`;
  }
  return `${xml}</xml>`;
}
