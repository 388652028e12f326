// Loading, error and empty states, shown the same way on every page.
import { html } from 'lit-html';

export const loading = (what = 'Loading') => html`<p class="loading" role="status">${what}…</p>`;

export const errorBox = (error, retry) => html`
  <div class="error" role="alert">
    <strong>${error.status ? `Error ${error.status}` : 'Error'}:</strong> ${error.message}
    ${retry ? html`<button class="link" @click=${retry}>Try again</button>` : ''}
  </div>`;

export const empty = (text) => html`<p class="empty">${text}</p>`;
