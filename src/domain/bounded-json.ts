/**
 * JSON request bodies with their attacker-controlled counts capped (SPEC §7 "Bounded work per request").
 * `JSON.parse` is linear, but its constant is large for some shapes: a 1 MiB body of one object with
 * 100,000 keys, or of arrays nested 500,000 deep, costs it 60–80 ms. No request Paythrough takes needs
 * more than a few hundred values, so one cheap pass over the text (strings skipped whole by one regular
 * expression) refuses a body past these caps before it is parsed.
 */

/** Containers nested deeper than this are refused (the deepest request body is 4 levels). */
export const maxJsonDepth = 32;
/** Members of one object or items of one array (the longest list a route takes has 100 items). */
export const maxJsonMembers = 1_000;
/** Strings, escapes in them, brackets and commas in the whole text: bounds the scan and the parse together. */
export const maxJsonTokens = 20_000;

export class JsonLimitError extends Error {
  override name = 'JsonLimitError';
}

// A string (closed or running to the end, which JSON.parse then refuses), or one structural character.
const tokenPattern = /"[^"\\]*(?:\\[\s\S][^"\\]*)*"?|[{}[\],]/g;

const tooManyTokens = `The JSON body has more than ${maxJsonTokens} strings, escapes and separators`;

/** Why a JSON text is refused before parsing, or undefined when it is within the caps. */
export function jsonLimitProblem(text: string): string | undefined {
  // Escapes are counted before the pattern walks a string: one string of 500,000 escapes costs its repetition 20 ms.
  // An escape holds one backslash or two (`\\`), so more than twice the cap of backslashes is past the cap.
  let backslashes = 0;
  for (let at = text.indexOf('\\'); at >= 0; at = text.indexOf('\\', at + 1))
    if ((backslashes += 1) > 2 * maxJsonTokens) return tooManyTokens;
  const members: number[] = [];
  let tokens = 0;
  const pattern = new RegExp(tokenPattern);
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    if ((tokens += 1) > maxJsonTokens) return tooManyTokens;
    const char = match[0];
    if (char.startsWith('"')) {
      // Each escape costs JSON.parse a decoding step: a string of 500,000 escaped quotes is not one token.
      for (let escape = char.indexOf('\\'); escape >= 0; escape = char.indexOf('\\', escape + 2))
        if ((tokens += 1) > maxJsonTokens) return tooManyTokens;
    } else if (char === '{' || char === '[') {
      if (members.push(1) > maxJsonDepth) return `The JSON body nests deeper than ${maxJsonDepth} levels`;
    } else if (char === '}' || char === ']') {
      members.pop();
    } else if (char === ',' && members.length > 0) {
      const count = members.pop()! + 1;
      if (count > maxJsonMembers) return `A JSON object or array in the body has more than ${maxJsonMembers} members`;
      members.push(count);
    }
  }
  return undefined;
}

/** `JSON.parse` after the caps: throws JsonLimitError past them, SyntaxError for text that is not JSON. */
export function parseBoundedJson(text: string): unknown {
  const problem = jsonLimitProblem(text);
  if (problem !== undefined) throw new JsonLimitError(problem);
  return JSON.parse(text);
}
