"""The script the recorder puts in every page: it hears what a person does and says which element it was.

It listens in the capture phase (before the page's own handlers can stop an event) and calls the binding
`BINDING` with a JSON text describing the action, the element's id in this page (`FIND_ELEMENT` gives the element
back, so that Python can check its locators against it) and the ways a person would name it, most human first. A password
field's value is never read: only the fact that it was typed in is reported.
"""

from __future__ import annotations

from robots.browser import LABEL_TEXT_JS, NORMALISE_JS

BINDING = "__roboRecord"
ELEMENTS = "__roboRecordedElement"
FIND_ELEMENT = "(wanted) => window." + ELEMENTS + "(wanted.page, wanted.id)"
"""The element a report was about, in the page that sent it (an error when that page is gone)."""

PAGE_SCRIPT = (
    r"""
(() => {
  if (window.__roboRecorderInstalled) return;
  window.__roboRecorderInstalled = true;
  const normalise = """
    + NORMALISE_JS
    + r""";
  const labelText = """
    + LABEL_TEXT_JS
    + r""";
  const same = (a, b) => normalise(a).toLowerCase() === normalise(b).toLowerCase();
  const FIELD = 'input:not([type=submit]):not([type=button]):not([type=reset]):not([type=image]):not([type=hidden]),'
    + ' textarea, select';
  const ACTIONABLE = 'a[href], button, input[type=submit], input[type=button], input[type=reset], input[type=image],'
    + ' [role=button], [role=link], [role=tab], [role=menuitem], [role=option], summary, [onclick]';
  const ids = new WeakMap();
  const elements = new Map();  // id -> WeakRef: Python asks for the element an action was on by its id
  let nextId = 1;
  const idOf = (el) => {
    if (!ids.has(el)) { ids.set(el, nextId); elements.set(nextId, new WeakRef(el)); nextId += 1; }
    return ids.get(el);
  };
  const page = Math.random().toString(36).slice(2);  // this document, apart from the next one at the same address
  Object.defineProperty(window, '"""
    + ELEMENTS
    + r"""', { value: (wanted, id) => {
    const ref = wanted === page ? elements.get(id) : null;
    const el = ref ? ref.deref() : null;
    if (!el) throw new Error('the page of this action is gone');
    return el;
  } });
  const shownText = (el) => (el.innerText || el.textContent || '').replace(/\s+/g, ' ').trim();
  const byIds = (list) => (list || '').split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean);
  const labelOf = (el) => {
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
    const labelled = byIds(el.getAttribute('aria-labelledby'));
    if (labelled.length) return labelled.map(shownText).join(' ');
    for (const label of el.labels || []) { const t = labelText(label); if (normalise(t)) return t; }
    return '';
  };
  const roleOf = (el) => {
    const explicit = (el.getAttribute('role') || '').trim().split(/\s+/)[0];
    if (explicit) return explicit;
    const tag = el.tagName.toLowerCase();
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (tag === 'a' && el.hasAttribute('href')) return 'link';
    if (tag === 'button' || (tag === 'input' && ['submit', 'button', 'reset', 'image'].includes(type))) return 'button';
    if (tag === 'input' && type === 'checkbox') return 'checkbox';
    if (tag === 'input' && type === 'radio') return 'radio';
    if (tag === 'select') return el.multiple || el.size > 1 ? 'listbox' : 'combobox';
    if (tag === 'textarea' || (tag === 'input' && ['', 'text', 'email', 'tel', 'url', 'search'].includes(type))) return 'textbox';
    if (tag === 'summary') return 'button';
    return '';
  };
  const nameOf = (el, role) => {
    if (el.matches(FIELD)) return labelOf(el);
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
    const labelled = byIds(el.getAttribute('aria-labelledby'));
    if (labelled.length) return labelled.map(shownText).join(' ');
    const text = el.tagName === 'INPUT' ? (el.value || el.getAttribute('alt') || '') : shownText(el);
    return text || el.getAttribute('title') || '';
  };
  const cssPath = (el) => {
    if (el.id && document.querySelectorAll('#' + CSS.escape(el.id)).length === 1) return '#' + CSS.escape(el.id);
    const parts = [];
    let node = el;
    while (node && node.nodeType === 1 && node !== document.documentElement) {
      if (node.id && document.querySelectorAll('#' + CSS.escape(node.id)).length === 1) {
        parts.unshift('#' + CSS.escape(node.id));
        break;
      }
      let part = node.tagName.toLowerCase();
      const parent = node.parentElement;
      if (parent) {
        const siblings = [...parent.children].filter((s) => s.tagName === node.tagName);
        if (siblings.length > 1) part += ':nth-of-type(' + (siblings.indexOf(node) + 1) + ')';
      }
      parts.unshift(part);
      node = parent;
    }
    return parts.join(' > ');
  };
  const all = (selector) => [...document.querySelectorAll(selector)];
  // Each way of naming the element, with how many elements of the page a plain reading would find by it (used
  // only when Python can no longer ask the page, e.g. when the page is already gone).
  const candidates = (el) => {
    const out = [];
    const isField = el.matches(FIELD);
    const label = isField ? labelOf(el) : '';
    if (normalise(label)) out.push(['label', normalise(label), all(FIELD).filter((f) => same(labelOf(f), label)).length]);
    const role = roleOf(el);
    const name = role ? nameOf(el, role) : '';
    if (role && normalise(name) && normalise(name).length <= 80) {
      const count = all(ACTIONABLE + ', ' + FIELD + ', [role]')
        .filter((o) => roleOf(o) === role && same(nameOf(o, role), name)).length;
      out.push(['role', role + ':' + normalise(name), count]);
    }
    if (!isField) {
      const text = shownText(el);
      if (normalise(text) && text.length <= 80) {
        const bare = (o) => o.textContent || '';  // no layout: a count for when the page is gone
        const count = all('body *').filter((o) => same(bare(o), text)
          && ![...o.children].some((c) => same(bare(c), text))).length;
        out.push(['text', normalise(text), count]);
      }
    }
    const placeholder = el.getAttribute('placeholder');
    if (normalise(placeholder)) {
      out.push(['placeholder', normalise(placeholder), all('[placeholder]').filter((o) => same(o.getAttribute('placeholder'), placeholder)).length]);
    }
    const testId = el.getAttribute('data-testid');
    if (testId) out.push(['test_id', testId, all('[data-testid="' + CSS.escape(testId) + '"]').length]);
    const css = cssPath(el);
    out.push(['css', css, all(css).length]);
    return out;
  };
  const groupOf = (el) => {
    const fieldset = el.closest('fieldset');
    const legend = fieldset && fieldset.querySelector('legend');
    if (legend) return normalise(legend.textContent);
    const group = el.closest('[role=radiogroup], [role=group]');
    return group ? normalise(labelOf(group)) : '';
  };
  const typedIn = new WeakSet();
  const send = (action, el, extra) => {
    // Keys after the first in a field: the recorder has its target already (no page scan at every key).
    const again = action === 'type' && typedIn.has(el);
    if (action === 'type') typedIn.add(el);
    const data = Object.assign({ action, element: idOf(el), page, tag: el.tagName.toLowerCase(),
      type: (el.getAttribute('type') || '').toLowerCase(), candidates: again ? [] : candidates(el) }, extra || {});
    try { window."""
    + BINDING
    + r"""(JSON.stringify(data)); } catch (e) { /* the recorder is gone */ }
  };
  const isTextField = (el) => el.matches('textarea, input') && !el.matches('[type=checkbox], [type=radio], [type=file]')
    && el.matches(FIELD);
  let submittedByKey = false;
  document.addEventListener('input', (event) => {
    const el = event.target;
    if (!(el instanceof Element)) return;
    if (isTextField(el)) {
      if (el.type === 'password') send('type', el, { secret: true });
      else send('type', el, { value: el.value });
    } else if (el.isContentEditable) {
      send('type', el, { value: el.innerText });
    }
  }, true);
  document.addEventListener('change', (event) => {
    const el = event.target;
    if (!(el instanceof Element)) return;
    if (el.tagName === 'SELECT') {
      const chosen = [...el.selectedOptions].map((o) => normalise(o.textContent) || o.value);
      send('select', el, { options: chosen, multiple: el.multiple });
    } else if (el.type === 'checkbox') {
      send('check', el, { checked: el.checked });
    } else if (el.type === 'radio' && el.checked) {
      send('choose', el, { group: groupOf(el) });
    } else if (el.type === 'file') {
      send('upload', el, { files: [...el.files].map((f) => f.name) });
    }
  }, true);
  document.addEventListener('keydown', (event) => {
    const el = event.target;
    if (event.key !== 'Enter' || !(el instanceof Element) || !el.matches('input') || !isTextField(el)) return;
    submittedByKey = true;
    setTimeout(() => { submittedByKey = false; }, 0);
    send('press', el, { key: 'Enter' });
  }, true);
  document.addEventListener('click', (event) => {
    if (!(event.target instanceof Element) || event.button !== 0) return;
    let el = event.target.matches('input[type=radio]') ? event.target : event.target.closest(ACTIONABLE);
    if (!el) {
      const target = event.target;
      if (target.closest('label') || target.matches(FIELD) || target.isContentEditable) return;
      if (getComputedStyle(target).cursor !== 'pointer') return;
      el = target;
    }
    if (el.matches('input[type=radio]')) { send('choose', el, { group: groupOf(el) }); return; }  // even if chosen
    if (el.matches(FIELD)) return;  // a field's own change says what happened
    if (submittedByKey && el.matches('button, input[type=submit], input[type=image]')) return;
    send('click', el, {});
  }, true);
})();
"""
)
