// A modal confirmation (a native <dialog>: focus is trapped, Escape cancels) for actions that change what serves.
import { html, render } from 'lit-html';

/**
 * Asks; resolves to true when confirmed.
 *
 * @param title the question
 * @param body what will happen (a template or text)
 * @param confirmLabel the confirming button's text
 * @param danger whether the action is hard to undo
 */
export function confirmDialog({ title, body, confirmLabel = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.className = 'confirm';
    dialog.setAttribute('aria-labelledby', 'confirm-title');
    document.body.append(dialog);
    render(html`
      <form method="dialog">
        <h2 id="confirm-title">${title}</h2>
        <div class="confirm-body">${body}</div>
        <div class="actions">
          <button value="cancel" type="submit">Cancel</button>
          <button value="confirm" type="submit" class=${danger ? 'primary danger-fill' : 'primary'} autofocus>${confirmLabel}</button>
        </div>
      </form>`, dialog);
    dialog.addEventListener('close', () => {
      const ok = dialog.returnValue === 'confirm';
      dialog.remove();
      resolve(ok);
    });
    dialog.showModal();
  });
}
