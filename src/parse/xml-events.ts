/**
 * Loose XML events: htmlparser2's tokenizer (xmlMode, entities left as written) with our own
 * element stack. htmlparser2's Parser keeps its stack with Array#unshift and finds close tags with
 * indexOf, which is quadratic on a hostile document of 100,000 unclosed elements (seconds of CPU).
 * Here the stack is push/pop with a count per open name, so a close tag is matched in O(1) and
 * every element is popped once: linear whatever the nesting. Depth is capped; deeper start tags
 * are ignored (their text still goes to the deepest kept element).
 *
 * Recovery rules (a loose parser's, like browsers' and feedparser's): a close tag closes the
 * nearest open element of that name and everything opened inside it; a close tag with no open
 * element of that name is ignored; whatever is open at the end is closed.
 */
import { Tokenizer } from 'htmlparser2';

export interface XmlEventHandler {
  open(name: string, attribs: Record<string, string>): void;
  close(name: string): void;
  /** Character data as written (entities not decoded); `cdata` marks a CDATA section's content. */
  text(data: string, cdata: boolean): void;
}

const MAX_DEPTH = 512;
/** Shared by every start tag without attributes (most of a feed), so none allocates. */
const NO_ATTRIBUTES: Record<string, string> = Object.freeze({}) as Record<string, string>;

export function looseXmlEvents(xml: string, handler: XmlEventHandler): void {
  const stack: string[] = [];
  const openCount = new Map<string, number>();
  let ignoredDepth = 0; // start tags beyond MAX_DEPTH that were not opened
  let tagName = '';
  let attribs: Record<string, string> = {};
  let attribName = '';
  let attribValue = '';

  const push = (name: string): boolean => {
    if (stack.length >= MAX_DEPTH) {
      ignoredDepth++;
      return false;
    }
    stack.push(name);
    openCount.set(name, (openCount.get(name) ?? 0) + 1);
    handler.open(name, attribs);
    return true;
  };
  const pop = (): void => {
    const name = stack.pop();
    if (name === undefined) return;
    openCount.set(name, (openCount.get(name) ?? 1) - 1);
    handler.close(name);
  };
  const closeNamed = (name: string): void => {
    if (ignoredDepth > 0) {
      ignoredDepth--; // the end of an element too deep to open
      return;
    }
    if ((openCount.get(name) ?? 0) === 0) return; // a stray close tag
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      pop();
      if (top === name) return;
    }
  };

  const tokenizer = new Tokenizer(
    { xmlMode: true, decodeEntities: false },
    {
      onopentagname(start, end) {
        tagName = xml.slice(start, end);
        attribs = NO_ATTRIBUTES;
      },
      onattribname(start, end) {
        attribName = xml.slice(start, end);
        attribValue = '';
      },
      onattribdata(start, end) {
        attribValue += xml.slice(start, end);
      },
      onattribentity(codepoint) {
        attribValue += String.fromCodePoint(codepoint);
      },
      onattribend() {
        if (attribs === NO_ATTRIBUTES) attribs = {};
        if (!Object.hasOwn(attribs, attribName)) attribs[attribName] = attribValue;
      },
      onopentagend() {
        push(tagName);
      },
      onselfclosingtag() {
        if (push(tagName)) pop();
        else ignoredDepth--;
      },
      onclosetag(start, end) {
        closeNamed(xml.slice(start, end).trim());
      },
      ontext(start, end) {
        if (stack.length > 0) handler.text(xml.slice(start, end), false);
      },
      ontextentity(codepoint) {
        if (stack.length > 0) handler.text(String.fromCodePoint(codepoint), false);
      },
      oncdata(start, end, offset) {
        if (stack.length > 0) handler.text(xml.slice(start, end - offset), true);
      },
      // Comments, processing instructions and declarations carry nothing a reader sees.
      oncomment() {},
      onprocessinginstruction() {},
      ondeclaration() {},
      onend() {},
    },
  );
  tokenizer.write(xml);
  tokenizer.end();
  while (stack.length > 0) pop();
}
