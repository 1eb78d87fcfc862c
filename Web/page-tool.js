// One tool: where it sends, a test message, a template previewed over a past run, and the
// messages it sent lately.
import { del, get, post } from './api.js';
import { ago, badge, confirmAction, fill, h, notice, table } from './dom.js';

export default async function page(main, params, app) {
  const tool = await get(`/api/v1/tools/${encodeURIComponent(params.id)}`);
  const path = `/api/v1/tools/${encodeURIComponent(tool.name)}`;
  app.setTitle(tool.name);
  const message = h('div');
  const testResult = h('div', { id: 'tool-test' });
  const deliveries = h('div', { id: 'tool-deliveries' });
  const drawDeliveries = async () => fill(deliveries, table([
    ['When', (d) => ago(d.createdAt)],
    ['Run', (d) => h('a', { href: `/executions/${d.executionId}` }, `#${d.executionId}`)],
    ['Status', (d) => badge(d.status === 'DELIVERED' ? 'SUCCESS' : d.status === 'FAILED' ? 'FAILURE' : 'PENDING')],
    ['Tries', (d) => String(d.attempts)],
    ['Subject / text', (d) => h('span', { class: 'wrap' }, d.subject ? `${d.subject}: ` : '', d.text.slice(0, 120))],
    ['Answer', (d) => d.error ?? (d.answerStatus ? String(d.answerStatus) : '')],
  ], await get(`${path}/deliveries`), 'No messages sent through this tool yet.'));

  const to = h('input', { id: 'test-to', placeholder: 'someone@example.com (default: its sender)' });
  const preview = previewForm(tool);
  fill(main,
    h('div', { class: 'row spread' }, h('h1', {}, tool.name, ' ', h('span', { class: 'muted' }, tool.type)),
      app.canEdit ? h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!(await confirmAction(`Remove the tool "${tool.name}"? Events and actions that use it will fail to send.`, 'Remove'))) return;
        try { await del(path); app.navigate('/tools'); } catch (error) { fill(message, notice(error.message)); }
      } }, 'Remove') : null),
    message,
    h('div', { class: 'panel' }, h('dl', { class: 'fields' },
      [h('dt', {}, 'Sends to'), h('dd', {}, tool.email ? `${tool.email.host}:${tool.email.port} (${tool.email.security}) as ${tool.email.from}` : tool.urlHost ?? '')],
      tool.headerNames?.length ? [h('dt', {}, 'Headers'), h('dd', {}, tool.headerNames.join(', '))] : null,
      tool.signed ? [h('dt', {}, 'Signed'), h('dd', {}, 'yes, HMAC-SHA256')] : null,
      [h('dt', {}, 'Shared'), h('dd', {}, tool.shared ? 'with every user' : 'no')])),
    h('h2', {}, 'Send a test'),
    h('form', { class: 'row', onsubmit: async (event) => {
      event.preventDefault();
      fill(testResult, h('p', { class: 'muted' }, 'Sending…'));
      try {
        const result = await post(`${path}/test`, tool.type === 'EMAIL' && to.value.trim() ? { to: [to.value.trim()] } : {});
        fill(testResult, h('p', {}, badge(result.error ? 'FAILURE' : 'SUCCESS'), ` ${result.error ?? 'delivered'} after ${result.attempts} ${result.attempts === 1 ? 'try' : 'tries'}`,
          result.status ? `; the far end answered ${result.status}${result.response ? ` ${result.response.slice(0, 200)}` : ''}` : ''));
        await drawDeliveries();
      } catch (error) { fill(testResult, notice(error.message)); }
    } }, tool.type === 'EMAIL' ? [h('label', { for: 'test-to', class: 'inline' }, 'To', to)] : null, h('button', { type: 'submit', id: 'send-test' }, 'Send a test message')),
    testResult,
    h('h2', {}, 'Preview a message'), preview,
    h('h2', {}, 'Recent messages'), deliveries);
  await drawDeliveries();
}

/** The subject and text templates rendered over a past run, before anything is sent. */
function previewForm(tool) {
  const run = h('input', { id: 'preview-run', type: 'number', min: 1, placeholder: 'a run’s number' });
  const subject = h('input', { id: 'preview-subject', value: '[{{execution.status}}] {{event.name}}' });
  const text = h('textarea', { id: 'preview-message', rows: 3, value: '{{event.name}} ended {{execution.status}} after {{execution.duration}}' });
  const result = h('div', { id: 'preview-result' });
  return h('form', { class: 'panel', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const shown = await post('/api/v1/tools/preview', { executionId: Number(run.value), subject: subject.value, message: text.value });
      fill(result, h('pre', { class: 'log' }, shown.subject ? `Subject: ${shown.subject}\n` : '', shown.text));
    } catch (error) {
      fill(result, notice(error.fields?.length ? error.fields.map((f) => `${f.field}: ${f.message}`).join('; ') : error.message));
    }
  } },
  h('label', { for: 'preview-run' }, 'Over run'), run,
  tool.type === 'EMAIL' || tool.type === 'WEBHOOK' || tool.type === 'TEAMS' ? [h('label', { for: 'preview-subject' }, 'Subject'), subject] : null,
  h('label', { for: 'preview-message' }, 'Message (Mustache: {{event.name}}, {{execution.status}}, {{execution.log}}, …)'), text,
  h('p', {}, h('button', { type: 'submit' }, 'Preview')), result);
}
