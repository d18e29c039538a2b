/**
 * A small, dependency-free XML well-formedness check for the SVG the visualizer writes:
 * balanced and properly nested tags, one root element, quoted and unique attributes, and
 * only valid entity references. It is not a validating parser; it catches the mistakes an
 * SVG writer makes (unescaped `&`, `<` or quotes, unclosed elements).
 */

const NAME = /^[A-Za-z_:][\w.:-]*/;
const ENTITY = /^&(?:[A-Za-z_][\w.-]*|#[0-9]+|#x[0-9A-Fa-f]+);/;

function checkEntities(text: string, where: string, errors: string[]): void {
  for (let i = text.indexOf("&"); i !== -1; i = text.indexOf("&", i + 1)) {
    if (!ENTITY.test(text.slice(i, i + 40))) errors.push(`bad "&" at ${where}: ${JSON.stringify(text.slice(i, i + 20))}`);
  }
}

function skipSpecial(xml: string, at: number, errors: string[]): number | undefined {
  const forms: Array<[string, string]> = [
    ["<?", "?>"],
    ["<!--", "-->"],
    ["<![CDATA[", "]]>"],
    ["<!", ">"],
  ];
  for (const [open, close] of forms) {
    if (!xml.startsWith(open, at)) continue;
    const end = xml.indexOf(close, at + open.length);
    if (end === -1) {
      errors.push(`unterminated ${open} at ${at}`);
      return xml.length;
    }
    return end + close.length;
  }
  return undefined;
}

function parseAttributes(source: string, tagAt: number, errors: string[]): void {
  const seen = new Set<string>();
  let rest = source.trim();
  while (rest.length > 0) {
    const name = NAME.exec(rest)?.[0];
    if (!name) {
      errors.push(`bad attribute syntax in tag at ${tagAt}: ${JSON.stringify(rest.slice(0, 30))}`);
      return;
    }
    if (seen.has(name)) errors.push(`duplicate attribute ${name} in tag at ${tagAt}`);
    seen.add(name);
    rest = rest.slice(name.length).trimStart();
    const match = /^=\s*("([^"<]*)"|'([^'<]*)')/.exec(rest);
    if (!match) {
      errors.push(`attribute ${name} in tag at ${tagAt} has no quoted value`);
      return;
    }
    checkEntities(match[2] ?? match[3] ?? "", `attribute ${name} of tag at ${tagAt}`, errors);
    rest = rest.slice(match[0].length);
    if (rest.length > 0 && !/^\s/.test(rest)) {
      errors.push(`attributes not separated by space in tag at ${tagAt}`);
      return;
    }
    rest = rest.trimStart();
  }
}

/** Index of the ">" ending the tag opened at `lt`, skipping quoted attribute values (where ">" is legal). */
function tagEnd(xml: string, lt: number): number {
  let quote: string | undefined;
  for (let i = lt + 1; i < xml.length; i++) {
    const ch = xml[i];
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === ">") return i;
  }
  return -1;
}

/** Returns the well-formedness errors of `xml` (an empty array when it is well-formed). */
export function xmlErrors(xml: string): string[] {
  const errors: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  let at = 0;
  while (at < xml.length) {
    const lt = xml.indexOf("<", at);
    const text = xml.slice(at, lt === -1 ? xml.length : lt);
    checkEntities(text, `text at ${at}`, errors);
    if (stack.length === 0 && text.trim() !== "") errors.push(`text outside the root element at ${at}`);
    if (lt === -1) break;
    const special = skipSpecial(xml, lt, errors);
    if (special !== undefined) {
      at = special;
      continue;
    }
    const gt = tagEnd(xml, lt);
    if (gt === -1) {
      errors.push(`unterminated tag at ${lt}`);
      break;
    }
    const tag = xml.slice(lt + 1, gt);
    at = gt + 1;
    if (tag.startsWith("/")) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) errors.push(`</${name}> at ${lt} closes <${open ?? "nothing"}>`);
      continue;
    }
    const selfClosing = tag.endsWith("/");
    const body = selfClosing ? tag.slice(0, -1) : tag;
    const name = NAME.exec(body)?.[0];
    if (!name) {
      errors.push(`bad tag name at ${lt}: ${JSON.stringify(body.slice(0, 20))}`);
      continue;
    }
    if (stack.length === 0 && ++roots > 1) errors.push(`second root element <${name}> at ${lt}`);
    const attributes = body.slice(name.length);
    if (attributes !== "" && !/^\s/.test(attributes)) errors.push(`bad tag name at ${lt}: ${JSON.stringify(body.slice(0, 20))}`);
    parseAttributes(attributes, lt, errors);
    if (!selfClosing) stack.push(name);
  }
  if (stack.length > 0) errors.push(`unclosed elements: ${stack.join(" > ")}`);
  if (roots === 0) errors.push("no root element");
  return errors;
}

/** Counts elements whose start tag has `class="…"` containing `className` as a whole word. */
export function countClass(xml: string, element: string, className: string): number {
  const pattern = new RegExp(`<${element}\\b[^>]*\\bclass="(?:[^"]*\\s)?${className}(?:\\s[^"]*)?"`, "g");
  return xml.match(pattern)?.length ?? 0;
}
