// An event's conditional actions in its editor: what follows a run (run another event or a
// workflow, or send a message through a tool), and when. A message's templates can be previewed
// over one of the event's past runs before saving.
import { post } from './api.js';
import { fill, h, notice } from './dom.js';

const whens = ['ON_SUCCESS', 'ON_FAILURE', 'ALWAYS', 'ON_CONDITION'];
const types = [['RUN_EVENT', 'run an event'], ['RUN_WORKFLOW', 'run a workflow'], ['SEND_MESSAGE', 'send a message']];

/** `actions`: the event's, or none; `choices`: the events, workflows and tools one may name. */
export function actionsEditor(actions, { events, workflows, tools }) {
  const list = h('div', { id: 'actions' });
  const rows = [];
  const element = h('fieldset', { id: 'actions-fields' },
    h('legend', {}, 'Actions after a run'),
    h('div', { class: 'field-error', id: 'e-actions' }),
    list,
    h('button', { type: 'button', id: 'add-action', onclick: () => add({ when: 'ON_SUCCESS', type: 'RUN_EVENT' }) }, 'Add an action'));

  const add = (action) => {
    const choose = (values, value, label) => h('select', { 'aria-label': label }, values.map(([v, text]) => h('option', { value: v, selected: v === value }, text ?? v)));
    const when = choose(whens.map((w) => [w]), action.when, 'When');
    const type = choose(types, action.type, 'Then');
    const event = choose(events.map((e) => [String(e.id), e.name]), String(action.eventId ?? ''), 'Event to run');
    const workflow = choose(workflows.map((w) => [String(w.id), w.name]), String(action.workflowId ?? ''), 'Workflow to run');
    const tool = choose(tools.map((t) => [t.name, `${t.name} (${t.type})`]), action.tool ?? '', 'Tool');
    const to = h('input', { value: (action.to ?? []).join(', '), placeholder: 'recipients, comma-separated (email)', 'aria-label': 'Recipients' });
    const subject = h('input', { value: action.subject ?? '[{{execution.status}}] {{event.name}}', 'aria-label': 'Subject template' });
    const text = h('textarea', { rows: 2, value: action.message ?? '{{event.name}} ended {{execution.status}}', 'aria-label': 'Message template' });
    const run = h('input', { type: 'number', min: 1, placeholder: 'run #', 'aria-label': 'Run to preview over', class: 'narrow-number' });
    const shown = h('div', { class: 'action-preview' });
    const message = h('div', { class: 'action-message' }, h('div', { class: 'row' }, tool, to), subject, text,
      h('div', { class: 'row' }, run, h('button', { type: 'button', onclick: async () => {
        try {
          const answer = await post('/api/v1/tools/preview', { executionId: Number(run.value), subject: subject.value, message: text.value });
          fill(shown, h('pre', { class: 'code-view' }, answer.subject ? `Subject: ${answer.subject}\n` : '', answer.text));
        } catch (error) {
          fill(shown, notice(error.fields?.length ? error.fields.map((f) => `${f.field}: ${f.message}`).join('; ') : error.message));
        }
      } }, 'Preview over that run')), shown);
    const remove = h('button', { type: 'button', class: 'danger', onclick: () => { entry.removed = true; box.remove(); } }, 'Remove');
    const problems = h('div', { class: 'field-error' });
    const box = h('div', { class: 'panel action' },
      h('div', { class: 'row' }, h('span', {}, 'When the run ends'), when, h('span', {}, 'then'), type, event, workflow, remove),
      message, problems);
    const show = () => {
      event.hidden = type.value !== 'RUN_EVENT';
      workflow.hidden = type.value !== 'RUN_WORKFLOW';
      message.hidden = type.value !== 'SEND_MESSAGE';
    };
    type.addEventListener('change', show);
    show();
    const entry = {
      removed: false,
      /** Where the server's problems with this action go: by its place among those sent. */
      number(position) { problems.id = `e-actions[${position}]`; },
      value() {
        const result = { when: when.value, type: type.value };
        if (type.value === 'RUN_EVENT') result.eventId = Number(event.value);
        if (type.value === 'RUN_WORKFLOW') result.workflowId = Number(workflow.value);
        if (type.value === 'SEND_MESSAGE') {
          Object.assign(result, { tool: tool.value, subject: subject.value, message: text.value });
          const recipients = to.value.split(',').map((r) => r.trim()).filter(Boolean);
          if (recipients.length) result.to = recipients;
        }
        return result;
      },
    };
    rows.push(entry);
    list.append(box);
  };

  for (const action of actions ?? []) add(action);
  return {
    element,
    /** The actions as the API takes them; the server's problems name them by their place. */
    value: () => rows.filter((r) => !r.removed).map((r, position) => { r.number(position); return r.value(); }),
  };
}
