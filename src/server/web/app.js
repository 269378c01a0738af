// app.js — the chat page: conversations kept in localStorage, answers streamed from
// /v1/chat/completions (server-sent events), the thinking shown in a collapsible block with
// how long it took, a stop button, sampling settings, copy buttons.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const STORE = 'whale.conversations.v1';
  const SETTINGS = 'whale.settings.v1';

  let conversations = load(STORE, []);
  let settings = Object.assign({ system: '', temperature: '', top_p: '', top_k: '', max_tokens: '', seed: '', api_key: '' },
    load(SETTINGS, {}));
  let current = null;      // the open conversation
  let model = null;        // from /v1/models
  let controller = null;   // aborts the running request

  function load(key, fallback) {
    try { const v = JSON.parse(localStorage.getItem(key)); return v == null ? fallback : v; } catch (e) { return fallback; }
  }
  function save() {
    try { localStorage.setItem(STORE, JSON.stringify(conversations)); } catch (e) { showError('could not save: ' + e.message); }
  }
  function showError(text) { const el = $('error'); el.textContent = text; el.hidden = !text; }
  function headers() {
    const h = { 'Content-Type': 'application/json' };
    if (settings.api_key) h.Authorization = 'Bearer ' + settings.api_key;
    return h;
  }

  // --- the conversation list -------------------------------------------------------------
  function newConversation() {
    current = { id: String(Date.now()) + Math.random().toString(16).slice(2, 6), title: 'New chat', messages: [] };
    conversations.unshift(current);
    save();
    renderList();
    renderMessages();
    $('input').focus();
  }
  function renderList() {
    const ul = $('conversations');
    ul.textContent = '';
    for (const c of conversations) {
      const li = document.createElement('li');
      if (c === current) li.className = 'active';
      const title = document.createElement('span');
      title.textContent = c.title;
      const del = document.createElement('button');
      del.className = 'icon';
      del.type = 'button';
      del.textContent = '×';
      del.setAttribute('aria-label', 'Delete this conversation');
      del.onclick = (ev) => {
        ev.stopPropagation();
        conversations = conversations.filter((x) => x !== c);
        if (current === c) current = conversations[0] || null;
        if (!current) return newConversation();
        save(); renderList(); renderMessages();
      };
      li.append(title, del);
      li.onclick = () => { if (controller) return; current = c; renderList(); renderMessages(); $('sidebar').classList.remove('open'); };
      ul.append(li);
    }
  }

  // --- messages --------------------------------------------------------------------------
  function copyText(text, button) {
    const done = () => { const old = button.textContent; button.textContent = 'Copied'; setTimeout(() => { button.textContent = old; }, 1200); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
    } else fallbackCopy(text, done);
  }
  function fallbackCopy(text, done) {  // plain-http pages on another host have no clipboard API
    const ta = document.createElement('textarea');
    ta.value = text; document.body.append(ta); ta.select();
    try { document.execCommand('copy'); done(); } catch (e) { showError('copy failed'); }
    ta.remove();
  }
  function formatSeconds(s) { return s < 10 ? s.toFixed(1) + ' s' : Math.round(s) + ' s'; }

  // Builds (or rebuilds) one message's element. An assistant message has {content, reasoning,
  // thinking_seconds}.
  function messageElement(m) {
    const div = document.createElement('div');
    div.className = 'msg ' + m.role;
    if (m.role === 'user') {
      const b = document.createElement('div');
      b.className = 'bubble';
      b.textContent = m.content;
      div.append(b);
    } else {
      const details = document.createElement('details');
      details.className = 'thinking';
      const summary = document.createElement('summary');
      const text = document.createElement('div');
      text.className = 'thinking-text';
      details.append(summary, text);
      const answer = document.createElement('div');
      answer.className = 'answer';
      const tools = document.createElement('div');
      tools.className = 'tools';
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.className = 'copy-message';
      copy.textContent = 'Copy';
      copy.onclick = () => copyText(m.content || '', copy);
      tools.append(copy);
      div.append(details, answer, tools);
      div.update = () => {
        details.hidden = !m.reasoning;
        text.textContent = m.reasoning || '';
        summary.textContent = m.thinking_seconds != null ? 'Thought for ' + formatSeconds(m.thinking_seconds) : 'Thinking…';
        answer.innerHTML = window.renderMarkdown(m.content || '');
        if (m.stopped) answer.insertAdjacentHTML('beforeend', '<p class="stopped"><em>(stopped)</em></p>');
      };
      div.update();
    }
    return div;
  }
  function renderMessages() {
    const box = $('messages');
    box.textContent = '';
    if (current) for (const m of current.messages) box.append(messageElement(m));
    box.scrollTop = box.scrollHeight;
  }

  // --- sending and streaming -------------------------------------------------------------
  // The conversation so far, without the reply being written and without earlier thinking.
  function requestBody(history) {
    const messages = [];
    if (settings.system) messages.push({ role: 'system', content: settings.system });
    for (const m of history) messages.push({ role: m.role, content: m.content || '' });
    const body = { model: model, messages: messages, stream: true, stream_options: { include_usage: true } };
    const num = (v) => (v === '' || v == null ? undefined : Number(v));
    for (const k of ['temperature', 'top_p', 'top_k', 'max_tokens', 'seed']) {
      const v = num(settings[k]);
      if (v !== undefined && !Number.isNaN(v)) body[k] = v;
    }
    return body;
  }

  async function send(text) {
    if (!current) newConversation();
    showError('');
    current.messages.push({ role: 'user', content: text });
    if (current.title === 'New chat') current.title = text.slice(0, 40);
    const body = requestBody(current.messages);
    const reply = { role: 'assistant', content: '', reasoning: '' };
    current.messages.push(reply);
    save(); renderList();
    const box = $('messages');
    box.append(messageElement(current.messages[current.messages.length - 2]));
    const el = messageElement(reply);
    box.append(el);
    box.scrollTop = box.scrollHeight;
    setBusy(true);
    controller = new AbortController();
    let thinkingStart = null;
    // Re-rendering the whole message per token is quadratic and starves the page on fast
    // streams: draw at most once per frame.
    let pending = false;
    const scheduleUpdate = () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; el.update(); box.scrollTop = box.scrollHeight; });
    };
    try {
      const res = await fetch('/v1/chat/completions', {
        method: 'POST', headers: headers(), body: JSON.stringify(body), signal: controller.signal,
      });
      if (!res.ok) {
        let msg = 'HTTP ' + res.status;
        try { msg = (await res.json()).error.message; } catch (e) { /* keep the status */ }
        throw new Error(msg);
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          for (const line of event.split('\n')) {
            if (!line.startsWith('data: ')) continue;  // comments (keep-alives) and other fields
            const data = line.slice(6);
            if (data === '[DONE]') continue;
            const chunk = JSON.parse(data);
            if (chunk.error) throw new Error(chunk.error.message);
            const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
            if (!delta) continue;
            if (delta.reasoning_content) {
              if (thinkingStart == null) thinkingStart = performance.now();
              reply.reasoning += delta.reasoning_content;
            }
            if (delta.content) {
              if (thinkingStart != null && reply.thinking_seconds == null)
                reply.thinking_seconds = (performance.now() - thinkingStart) / 1000;
              reply.content += delta.content;
            }
            scheduleUpdate();
          }
        }
      }
    } catch (e) {
      if (e.name === 'AbortError') reply.stopped = true;
      else showError(e.message);
    } finally {
      if (thinkingStart != null && reply.thinking_seconds == null)
        reply.thinking_seconds = (performance.now() - thinkingStart) / 1000;
      el.update();
      controller = null;
      setBusy(false);
      save();
    }
  }

  function setBusy(busy) {
    $('send').hidden = busy;
    $('stop').hidden = !busy;
    document.body.classList.toggle('busy', busy);
  }

  // --- settings ----------------------------------------------------------------------------
  const fields = { system: 'set-system', temperature: 'set-temperature', top_p: 'set-top-p', top_k: 'set-top-k',
    max_tokens: 'set-max-tokens', seed: 'set-seed', api_key: 'set-api-key' };
  function bindSettings() {
    for (const [key, id] of Object.entries(fields)) {
      const input = $(id);
      input.value = settings[key] || '';
      input.oninput = () => { settings[key] = input.value; localStorage.setItem(SETTINGS, JSON.stringify(settings)); };
    }
  }

  async function loadModel() {
    try {
      const res = await fetch('/v1/models', { headers: headers() });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error ? body.error.message : 'HTTP ' + res.status);
      model = body.data[0].id;
      $('model-name').textContent = model;
    } catch (e) {
      showError('cannot list the model: ' + e.message + ' (set the API key in settings?)');
    }
  }

  // --- wiring ------------------------------------------------------------------------------
  $('composer').onsubmit = (ev) => {
    ev.preventDefault();
    const text = $('input').value.trim();
    if (!text || controller) return;
    $('input').value = '';
    if (!model) loadModel().then(() => send(text)); else send(text);
  };
  $('input').onkeydown = (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); $('composer').requestSubmit(); }
  };
  $('stop').onclick = () => { if (controller) controller.abort(); };
  $('new-chat').onclick = () => { if (!controller) newConversation(); };
  $('open-settings').onclick = () => { $('settings').hidden = !$('settings').hidden; };
  $('open-sidebar').onclick = () => $('sidebar').classList.add('open');
  $('close-sidebar').onclick = () => $('sidebar').classList.remove('open');
  $('messages').addEventListener('click', (ev) => {  // code blocks' copy buttons
    const b = ev.target.closest('pre .copy');
    if (b) copyText(b.parentElement.querySelector('code').textContent, b);
  });
  bindSettings();
  if (conversations.length) { current = conversations[0]; renderList(); renderMessages(); } else newConversation();
  loadModel();
})();
