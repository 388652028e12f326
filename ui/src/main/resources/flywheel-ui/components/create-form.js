// The small "New …" forms that let engineers and admins create things from the UI: each sits behind a
// disclosure, sends one request and shows the server's answer (its 400 message) in the form.
import { html } from 'lit-html';
import { errorBox } from './feedback.js';

/** Whether the signed-in role may create models, deployments and datasets (the API's ENGINEER access). */
export const canCreate = (me) => me.role === 'admin' || me.role === 'engineer';

/**
 * Keeps each form's state (busy, error, notice) under its key. `handler(key, send)` makes a submit handler that
 * calls send(formData, form); what send returns (a string) is shown as a notice, what it throws as an error.
 */
export function formStates(update) {
  let forms = {};
  const set = (key, value) => {
    forms = { ...forms, [key]: value };
    update({});
  };
  return {
    of: (key) => forms[key] || {},
    handler: (key, send) => async (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      set(key, { busy: true });
      try {
        const notice = await send(new FormData(form), form);
        set(key, notice ? { notice } : {});
      } catch (err) {
        set(key, { error: err });
      }
    },
  };
}

/** A form behind a "New …" disclosure; `fields` are its labelled inputs. */
export const createForm = ({ key, title, submit, state, onSubmit }, fields) => html`
  <details class="create-form" data-form=${key}>
    <summary>${title}</summary>
    <form @submit=${onSubmit} aria-label=${title}>
      <div class="form-grid">${fields}</div>
      ${state.error ? errorBox(state.error) : ''}
      ${state.notice ? html`<div class="notice" role="status">${state.notice}</div>` : ''}
      <div class="actions">
        <button type="submit" class="primary" ?disabled=${state.busy}>${state.busy ? 'Working…' : submit}</button>
      </div>
    </form>
  </details>`;
