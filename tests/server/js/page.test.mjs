// page.test.mjs — the web chat page at GET / in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): send a message and see the streamed thinking and answer, match
// them with the API's answer for the same seed, stop a generation, keep conversations across a
// reload, escape model output, and lay out for a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startServer, importOrSkip, missingPrerequisite, modelId } from './server.mjs';

const { chromium } = await importOrSkip('playwright-core');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) missingPrerequisite(`${CHROMIUM} is missing: apt-get install chromium`);

let server, browser, model;
before(async () => {
  server = await startServer(['--parallel', '2', '--ctx-size', '8192']);  // a long answer takes seconds
  model = await modelId(server.url);
  // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
});
after(async () => {
  await browser?.close();
  assert.equal(await server.stop(), 0);
});

async function openPage(viewport = { width: 1200, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.url + '/');
  await page.waitForFunction((m) => document.getElementById('model-name').textContent === m, model);
  return { page, context, errors };
}

async function setSetting(page, id, value) {
  if (await page.isHidden('#settings')) await page.click('#open-settings');
  await page.fill(id, String(value));
}

const last = (sel) => `.msg.assistant >> nth=-1 >> ${sel}`;

test('a message streams thinking and answer, identical to the API for the same seed', async () => {
  const { page, context, errors } = await openPage();
  await setSetting(page, '#set-seed', 4);
  await setSetting(page, '#set-max-tokens', 40);
  await page.fill('#input', 'What is 2+2?');
  await page.press('#input', 'Enter');
  await page.waitForSelector('.msg.assistant');
  await page.waitForSelector('#send', { state: 'visible', timeout: 60_000 });  // finished
  const thinking = await page.textContent(last('.thinking-text'));
  const answerText = await page.textContent(last('.answer'));
  const summary = await page.textContent(last('details.thinking summary'));

  const api = await (await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'What is 2+2?' }], seed: 4, max_tokens: 40 }),
  })).json();
  const m = api.choices[0].message;
  assert.equal(thinking, m.reasoning_content || '');
  if (m.reasoning_content) {
    assert.match(summary, /^Thought for \d+(\.\d)? s$/);
    assert.equal(await page.isVisible(last('details.thinking')), true);
  }
  // The answer is rendered as Markdown; its text content is the answer's text.
  assert.equal(answerText.replace(/\s+/g, ''), m.content.replace(/\s+/g, ''));
  assert.deepEqual(errors, []);
  await context.close();
});

test('the stop button ends a long generation and frees the server', async () => {
  const { page, context } = await openPage();
  // The random demo model may end early with its EOS token (id 257): ban it in the page's
  // request, so only the stop button can end this generation.
  await page.route('**/v1/chat/completions', (route) => {
    const body = JSON.parse(route.request().postData());
    body.logit_bias = { 257: -100 };
    route.continue({ postData: JSON.stringify(body) });
  });
  await setSetting(page, '#set-max-tokens', 100000);
  await setSetting(page, '#set-seed', 9);
  await page.fill('#input', 'Tell me a long story');
  await page.click('#send');
  await page.waitForFunction(() => {
    const el = document.querySelectorAll('.msg.assistant .thinking-text');
    return el.length > 0 && el[el.length - 1].textContent.length > 5;
  });
  assert.equal(await page.isVisible('#stop'), true);
  const before = (await page.textContent(last('.thinking-text'))).length;
  await page.waitForTimeout(300);
  const later = (await page.textContent(last('.thinking-text'))).length;
  assert.ok(later >= before, 'the thinking grows while streaming');
  await page.click('#stop');
  await page.waitForSelector('#send', { state: 'visible' });
  await page.waitForSelector(last('.stopped'));
  // The server notices the closed stream and frees the slot.
  let active = -1;
  for (let i = 0; i < 50 && active !== 0; i++) {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    active = Number(/^whale_requests_active (\S+)$/m.exec(metrics)[1]);
    if (active !== 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(active, 0, 'the stopped request still runs on the server');
  await context.close();
});

test('conversations survive a reload; model output is escaped; copy buttons exist', async () => {
  const { page, context } = await openPage();
  await setSetting(page, '#set-max-tokens', 4);
  await page.fill('#input', 'first question');
  await page.press('#input', 'Enter');
  await page.waitForSelector('#send', { state: 'visible', timeout: 60_000 });
  await page.reload();
  await page.waitForSelector('.msg.user');
  assert.ok((await page.locator('#conversations li').count()) >= 1);
  assert.equal(await page.textContent('.msg.user >> nth=-1'), 'first question');
  assert.equal(await page.locator(last('.copy-message')).count(), 1);
  const html = await page.evaluate(() => window.renderMarkdown('<img src=x onerror="alert(1)">\n```js\nlet a = "<b>";\n```\n[x](javascript:alert(1)) **bold** `<i>`'));
  assert.ok(!/<img|<b>|<i>|href="javascript/.test(html), html);
  assert.match(html, /&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;/);
  assert.match(html, /<pre><button type="button" class="copy">Copy<\/button><code class="language-js">let a = &quot;&lt;b&gt;&quot;;<\/code><\/pre>/);
  assert.match(html, /<strong>bold<\/strong>/);
  await context.close();
});

test('phone layout: the conversation list folds away behind a button', async () => {
  const { page, context } = await openPage({ width: 390, height: 800 });
  assert.equal(await page.isVisible('#open-sidebar'), true);
  const box = await page.locator('#sidebar').boundingBox();
  assert.ok(box.x + box.width <= 1, `sidebar off screen, got x=${box.x} w=${box.width}`);
  await page.click('#open-sidebar');
  await page.waitForTimeout(300);
  const open = await page.locator('#sidebar').boundingBox();
  assert.ok(open.x >= -1, 'sidebar slides in');
  const inputBox = await page.locator('#input').boundingBox();
  assert.ok(inputBox.x + inputBox.width <= 390, 'the composer fits the screen');
  await context.close();
});
