// The script editor: a plain textarea (so typing, undo, selection and screen readers work as
// they do everywhere) over a highlighted copy of its text, with line numbers beside it. A small
// tokenizer for Bash, Python and JavaScript instead of an editor library: comments, strings,
// keywords, numbers and shell variables are all a script's reader needs to see at a glance.
import { h } from './dom.js';

const keywords = {
  BASH: 'if then else elif fi for while until do done case esac in function return local export readonly set unset shift exit break continue trap source echo printf read test',
  PYTHON: 'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield print',
  NODEJS: 'async await break case catch class const continue default delete do else export extends finally for function if import in instanceof let new null of return static super switch this throw true false try typeof undefined var void while yield require console',
};

/** Turns `textarea` into the editor for `language` (BASH, PYTHON, NODEJS; others get line numbers
 *  only); `setLanguage` changes it later. Returns the element to put where the textarea was. */
export function codeEditor(textarea, language) {
  const gutter = h('div', { class: 'code-gutter', 'aria-hidden': 'true' });
  const shown = h('pre', { class: 'code-shown', 'aria-hidden': 'true' });
  textarea.classList.add('code-input');
  textarea.setAttribute('wrap', 'off');
  textarea.spellcheck = false;
  const element = h('div', { class: 'code-editor' }, gutter, h('div', { class: 'code-area' }, shown, textarea));
  let words = wordSet(language);
  const draw = () => {
    const text = textarea.value;
    const lines = text.split('\n').length;
    if (gutter.childElementCount !== lines) {
      gutter.replaceChildren(...Array.from({ length: lines }, (_, i) => h('div', {}, String(i + 1))));
    }
    // A final newline needs a line of its own to be seen (and kept in step with the textarea).
    shown.replaceChildren(...highlight(text, language, words), '\n');
    sync();
  };
  const sync = () => {
    shown.scrollTop = textarea.scrollTop;
    shown.scrollLeft = textarea.scrollLeft;
    gutter.scrollTop = textarea.scrollTop;
  };
  textarea.addEventListener('input', draw);
  textarea.addEventListener('scroll', sync);
  // Tab indents instead of leaving the field; Escape then Tab leaves it (keyboard users).
  let escaped = false;
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') { escaped = true; return; }
    if (event.key === 'Tab' && !escaped && !event.shiftKey) {
      event.preventDefault();
      textarea.setRangeText('  ', textarea.selectionStart, textarea.selectionEnd, 'end');
      draw();
    }
    escaped = false;
  });
  draw();
  return {
    element,
    setLanguage(next) { language = next; words = wordSet(next); draw(); },
  };
}

function wordSet(language) { return new Set((keywords[language] ?? '').split(' ')); }

/** The text as spans by token kind; text the tokenizer does not know stays plain. */
export function highlight(text, language, words = wordSet(language)) {
  if (!keywords[language]) return [text];
  const comment = language === 'NODEJS' ? String.raw`\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)` : String.raw`#[^\n]*`;
  const strings = language === 'PYTHON' ? String.raw`"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|` : '';
  const variable = language === 'BASH' ? String.raw`|\$\{[^}\n]*\}?|\$[A-Za-z_][A-Za-z0-9_]*|\$[0-9#?@*$!-]` : '';
  const pattern = new RegExp(
    `(${comment})|(${strings}"(?:\\\\.|[^"\\\\\\n])*"?|'(?:\\\\.|[^'\\\\\\n])*'?|\`(?:\\\\.|[^\`\\\\])*\`?)|(\\b\\d+(?:\\.\\d+)?\\b)|([A-Za-z_][A-Za-z0-9_]*)${variable ? `|(${variable.slice(1)})` : ''}`,
    'g');
  const out = [];
  let last = 0;
  for (let match; (match = pattern.exec(text));) {
    const [token, isComment, isString, isNumber, word, isVariable] = match;
    const kind = isComment ? 'comment' : isString ? 'string' : isNumber ? 'number' : isVariable ? 'variable' : words.has(word) ? 'keyword' : null;
    if (!kind) continue;
    if (match.index > last) out.push(text.slice(last, match.index));
    out.push(h('span', { class: `tok-${kind}` }, token));
    last = match.index + token.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
