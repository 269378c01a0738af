// markdown.js — a small Markdown renderer for model answers, written for this page: fenced code
// blocks (an unclosed fence, mid-stream, runs to the end), headings, lists, quotes, paragraphs,
// inline code, bold, italic and http(s) links. Every character of the input is HTML-escaped
// before any markup is added, so model output can never inject tags or scripts.
(function (global) {
  'use strict';

  function escapeHtml(s) {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  }

  // `text` is already escaped; code spans are set aside first so their content stays literal.
  function inline(text) {
    const spans = [];
    text = text.replace(/`([^`\n]+)`/g, function (_, code) {
      spans.push('<code>' + code + '</code>');
      return '\u0000' + (spans.length - 1) + '\u0000';
    });
    text = text.replace(/\*\*([^*\n]+)\*\*/g, '<strong>$1</strong>');
    text = text.replace(/(^|[^*\w])\*([^*\n]+)\*(?!\w)/g, '$1<em>$2</em>');
    text = text.replace(/(^|[^_\w])_([^_\n]+)_(?!\w)/g, '$1<em>$2</em>');
    // Only http(s) targets: no javascript: or data: links. Quotes are escaped, so the href
    // attribute cannot be closed early.
    text = text.replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g,
      '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>');
    return text.replace(/\u0000(\d+)\u0000/g, function (_, i) { return spans[Number(i)]; });
  }

  function codeBlock(lang, lines) {
    const cls = lang ? ' class="language-' + lang.replace(/[^\w+-]/g, '') + '"' : '';
    return '<pre><button type="button" class="copy">Copy</button><code' + cls + '>' +
      escapeHtml(lines.join('\n')) + '</code></pre>';
  }

  function renderMarkdown(source) {
    const lines = String(source).replace(/\r\n?/g, '\n').split('\n');
    const out = [];
    let para = [];
    let list = null;  // {tag, items}
    let quote = [];
    function flushPara() {
      if (para.length) out.push('<p>' + para.map(function (l) { return inline(escapeHtml(l)); }).join('<br>') + '</p>');
      para = [];
    }
    function flushList() {
      if (list) {
        out.push('<' + list.tag + '>' + list.items.map(function (i) { return '<li>' + inline(escapeHtml(i)) + '</li>'; }).join('') +
          '</' + list.tag + '>');
      }
      list = null;
    }
    function flushQuote() {
      if (quote.length) out.push('<blockquote>' + renderMarkdown(quote.join('\n')) + '</blockquote>');
      quote = [];
    }
    function flushAll() { flushPara(); flushList(); flushQuote(); }

    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const fence = /^\s*(```|~~~)\s*([\w+-]*)/.exec(line);
      if (fence) {
        flushAll();
        const body = [];
        let j = i + 1;
        while (j < lines.length && !new RegExp('^\\s*' + fence[1]).test(lines[j])) body.push(lines[j++]);
        out.push(codeBlock(fence[2], body));
        i = j;  // the closing fence (or past the end)
        continue;
      }
      if (/^\s*$/.test(line)) { flushAll(); continue; }
      const heading = /^(#{1,6})\s+(.*)$/.exec(line);
      if (heading) {
        flushAll();
        const n = heading[1].length;
        out.push('<h' + n + '>' + inline(escapeHtml(heading[2])) + '</h' + n + '>');
        continue;
      }
      const q = /^>\s?(.*)$/.exec(line);
      if (q) { flushPara(); flushList(); quote.push(q[1]); continue; }
      flushQuote();
      const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
      const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
      if (bullet || numbered) {
        flushPara();
        const tag = bullet ? 'ul' : 'ol';
        if (!list || list.tag !== tag) { flushList(); list = { tag: tag, items: [] }; }
        list.items.push((bullet || numbered)[1]);
        continue;
      }
      if (list && /^\s+\S/.test(line)) { list.items[list.items.length - 1] += ' ' + line.trim(); continue; }
      flushList();
      para.push(line);
    }
    flushAll();
    return out.join('\n');
  }

  global.renderMarkdown = renderMarkdown;
  global.escapeHtml = escapeHtml;
})(typeof window !== 'undefined' ? window : globalThis);
